/**
 * The admin CLI waited for an answer with no bound: a server that takes the connection and never answers (a hung
 * gateway, a proxy holding the request, a body that stops halfway) hung a script or a CI job for good. Each call
 * now waits TOLLGATE_CLI_TIMEOUT_MS at most (30 s unless set), then exits 1 saying so.
 */
import { afterAll, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../src/config/load'
import { MASTER_KEY } from './support/gateway'
import { runTollgate } from './support/cli'

const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  idleTimeout: 0,
  fetch: (req) => {
    // /v1/users…: never answers. /v1/keys…: answers its headers and the start of a body, then nothing more.
    if (new URL(req.url).pathname.startsWith('/v1/users')) return new Promise<Response>(() => {})
    return new Response(new ReadableStream({ start: (controller) => controller.enqueue(new TextEncoder().encode('{"data":')) }), {
      headers: { 'content-type': 'application/json' },
    })
  },
})
afterAll(() => server.stop(true))
const url = `http://127.0.0.1:${server.port}`

async function timed(args: string[], env: Record<string, string>) {
  const started = performance.now()
  const outcome = await runTollgate(url, args, env)
  return { ...outcome, ms: performance.now() - started }
}

test('a server that never answers: exit 1 within the bound, saying what it waited for', async () => {
  const { code, stderr, ms } = await timed(['users', 'list'], { TOLLGATE_CLI_TIMEOUT_MS: '300' })
  expect(code).toBe(1)
  expect(stderr).toContain(`tollgate: no answer from the gateway at ${url} within 300 ms (TOLLGATE_CLI_TIMEOUT_MS)\n`)
  expect(ms).toBeLessThan(10_000)
})

test('a change that timed out says it may have been made', async () => {
  const { code, stderr } = await timed(['users', 'create', 'team-a', '--budget', '5'], { TOLLGATE_CLI_TIMEOUT_MS: '300' })
  expect(code).toBe(1)
  expect(stderr).toContain('within 300 ms (TOLLGATE_CLI_TIMEOUT_MS); the change may have been made: look before trying again')
})

test('an answer whose body stops halfway is bounded too', async () => {
  const { code, stderr, ms } = await timed(['keys', 'list'], { TOLLGATE_CLI_TIMEOUT_MS: '300' })
  expect({ code, stderr: stderr.trim() }).toEqual({ code: 1, stderr: `tollgate: no answer from the gateway at ${url} within 300 ms (TOLLGATE_CLI_TIMEOUT_MS)` })
  expect(ms).toBeLessThan(10_000)
})

test('TOLLGATE_CLI_TIMEOUT_MS that is no whole number of milliseconds is refused, never read as no bound', async () => {
  for (const value of ['', '0', '1.5', '30s', '-1', '2147483648']) {
    const { code, stderr } = await timed(['users', 'list'], { TOLLGATE_CLI_TIMEOUT_MS: value })
    expect({ value, code, stderr: stderr.trim() }).toEqual({
      value,
      code: 1,
      stderr: 'tollgate: TOLLGATE_CLI_TIMEOUT_MS must be a whole number of milliseconds from 1 to 2147483647, or unset (30000)',
    })
  }
})

test('the gateway takes TOLLGATE_CLI_TIMEOUT_MS exported in its shell: the CLI\'s, not a misspelt setting', () => {
  let refusal = ''
  try {
    loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_DB: ':memory:', TOLLGATE_CLI_TIMEOUT_MS: '5000' })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    refusal = error.message
  }
  expect(refusal).toBe('')
})
