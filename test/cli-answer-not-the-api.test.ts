/**
 * README, Admin CLI: "Exit codes: 0 done, 1 the gateway refused or could not be reached (its message is printed)".
 * TOLLGATE_URL pointing at something that is not the gateway's admin API but answers 200 with a web page (a proxy's
 * login or landing page, the console's address, a dev server) made the CLI crash with a TypeError and a stack trace
 * of its own source; with --json it printed `null` and exited 0, so a script took the write as done.
 */
import { afterAll, expect, test } from 'bun:test'
import { runTollgate } from './support/cli'

/** A server answering every request 200 with the body and type the request's path asks for. */
const ANSWERS: Record<string, { body: string; type: string }> = {
  html: { body: '<!doctype html><html><body>Sign in</body></html>', type: 'text/html' },
  empty: { body: '', type: 'text/plain' },
  null: { body: 'null', type: 'application/json' },
  array: { body: '[]', type: 'application/json' },
  // An object, but no list where a list is expected.
  object: { body: '{"status":"ok"}', type: 'application/json' },
}
const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch: (req) => {
    const answer = ANSWERS[new URL(req.url).pathname.split('/')[1]!]!
    return new Response(answer.body, { headers: { 'content-type': answer.type } })
  },
})
afterAll(() => server.stop(true))
const at = (shape: string) => `http://127.0.0.1:${server.port}/${shape}`

const COMMANDS = [
  ['users', 'list'],
  ['users', 'get', 'team-a'],
  ['keys', 'create', 'team-a', '--budget', '5'],
  ['prices', 'catalog'],
]

test('a 200 that is not the API\'s JSON: exit 1 with a one-line message naming TOLLGATE_URL, no stack trace', async () => {
  for (const args of COMMANDS) {
    const { code, stderr } = await runTollgate(at('html'), args)
    expect({ args, code, trace: /TypeError|\n\s+at /.test(stderr) }).toEqual({ args, code: 1, trace: false })
    expect(stderr).toContain('answered 200 with a body that is not JSON (text/html): that is not the admin API; is TOLLGATE_URL the gateway\'s address?')
  }
})

test('an empty body, JSON null, an array, or an object without the rows a list has: refused alike', async () => {
  for (const shape of ['empty', 'null', 'array', 'object'])
    for (const args of shape === 'object' ? [['users', 'list'], ['prices', 'catalog']] : COMMANDS) {
      const { code, stderr } = await runTollgate(at(shape), args)
      expect({ shape, args, code, trace: /TypeError|\n\s+at /.test(stderr), named: stderr.includes('is TOLLGATE_URL the gateway\'s address?') }).toEqual({
        shape, args, code: 1, trace: false, named: true,
      })
    }
})

test('--json does not report success (exit 0, `null`) for an answer that is not the API\'s', async () => {
  for (const shape of ['html', 'empty', 'null']) {
    const { code, stdout } = await runTollgate(at(shape), ['users', 'create', 'team-b', '--budget', '5', '--json'])
    expect({ shape, code, stdout: stdout.trim() }).toEqual({ shape, code: 1, stdout: '' })
  }
})
