/**
 * `tollgate <command>`: the admin CLI, run as the real entry point (`bun src/index.ts`) against a real
 * gateway. It must do exactly what the admin API does, show tables or JSON, and fail with a clear exit code.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { BUN, MASTER_KEY, ROOT, startTestGateway, type TestGateway } from './support/gateway'
import { runTollgate } from './support/cli'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const tollgate = (args: string[], env: Record<string, string> = {}) => runTollgate(gw.url, args, env)

describe('tollgate admin CLI', () => {
  test('users: create with a budget, list as a table, get as JSON, block', async () => {
    const created = await tollgate(['users', 'create', 'cli-team', '--budget', '2.5', '--period', 'monthly', '--alias', 'CLI team'])
    expect(created.code).toBe(0)
    expect(created.stdout).toMatch(/max_budget\s+2\.5/)
    expect((await gw.admin('GET', '/v1/users/cli-team')).body.budget_period).toBe('monthly')

    const listed = await tollgate(['users', 'list'])
    expect(listed.code).toBe(0)
    const [header, ...rows] = listed.stdout.trim().split('\n')
    expect(header).toMatch(/^ID\s+ALIAS\s+MAX_BUDGET/)
    expect(rows.some((r) => /^cli-team\s+CLI team\s+2\.5\s+monthly/.test(r))).toBe(true)

    const json = await tollgate(['users', 'get', 'cli-team', '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({ id: 'cli-team', max_budget: 2.5, remaining: 2.5 })

    expect((await tollgate(['users', 'block', 'cli-team'])).code).toBe(0)
    expect((await gw.admin('GET', '/v1/users/cli-team')).body.blocked).toBe(true)
    expect((await tollgate(['users', 'update', 'cli-team', '--blocked', 'false', '--budget', 'none'])).code).toBe(0)
    expect((await gw.admin('GET', '/v1/users/cli-team')).body).toMatchObject({ blocked: false, max_budget: null })
  })

  test('keys: the secret is shown once at create and rotate, and works; revoke stops it', async () => {
    await gw.admin('POST', '/v1/users', { id: 'cli-keys', max_budget: 1 })
    const created = await tollgate(['keys', 'create', 'cli-keys', '--name', 'laptop', '--models', 'mock:gpt-mock', '--rpm', '60', '--json'])
    expect(created.code).toBe(0)
    const key = JSON.parse(created.stdout)
    expect(key.key).toMatch(/^tg-/)
    expect(key).toMatchObject({ user_id: 'cli-keys', name: 'laptop', allowed_models: ['mock:gpt-mock'], rpm_limit: 60 })

    const chat = () =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
      })
    expect((await chat()).status).toBe(200)

    const listed = await tollgate(['keys', 'list', '--user', 'cli-keys'])
    expect(listed.stdout).toContain(key.id)
    expect(listed.stdout).not.toContain(key.key)

    const rotated = await tollgate(['keys', 'rotate', key.id])
    expect(rotated.stdout).toMatch(/key\s+tg-/)
    expect(rotated.stdout).toContain('shown only this once')
    expect((await chat()).status).toBe(401)

    const fresh = /key\s+(tg-\S+)/.exec(rotated.stdout)![1]!
    expect((await tollgate(['keys', 'revoke', key.id])).code).toBe(0)
    const afterRevoke = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${fresh}` } })
    expect(afterRevoke.status).toBe(401)
  })

  test('prices: set, get, list and history', async () => {
    const set = await tollgate(['prices', 'set', 'mock:gpt-cli', '--input', '0.5', '--output', '1.5', '--cached-input', '0.25'])
    expect(set.code).toBe(0)
    const got = JSON.parse((await tollgate(['prices', 'get', 'mock/gpt-cli', '--json'])).stdout)
    expect(got).toMatchObject({ model: 'mock:gpt-cli', input_per_million: 0.5, output_per_million: 1.5, cached_input_per_million: 0.25 })
    await tollgate(['prices', 'set', 'mock:gpt-cli', '--input', '0.6', '--output', '1.5'])
    const history = JSON.parse((await tollgate(['prices', 'history', '--model', 'mock:gpt-cli', '--json'])).stdout).data
    expect(history.map((p: any) => p.input_per_million).sort()).toEqual([0.5, 0.6])
    expect((await tollgate(['prices', 'list'])).stdout).toMatch(/mock:gpt-cli\s+0\.6\s+1\.5/)
  })

  test('usage: rows and a summary with totals, filtered by user', async () => {
    const { secret } = await gw.userWithKey({ id: 'cli-usage', max_budget: 1 })
    for (let i = 0; i < 3; i++)
      await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
      })
    const rows = JSON.parse((await tollgate(['usage', 'list', '--user', 'cli-usage', '--json'])).stdout).data
    expect(rows).toHaveLength(3)
    expect(rows.every((r: any) => r.user_id === 'cli-usage' && r.status === 'ok')).toBe(true)

    const summary = await tollgate(['usage', 'summary', '--user', 'cli-usage'])
    expect(summary.code).toBe(0)
    expect(summary.stdout).toMatch(/\d{4}-\d\d-\d\d\s+cli-usage\s+mock:gpt-mock\s+3/)
    expect(summary.stdout).toMatch(/^total\s+-\s+-\s+3\s/m)
    const byUser = JSON.parse((await tollgate(['users', 'usage', 'cli-usage', '--limit', '2', '--json'])).stdout)
    expect(byUser.data).toHaveLength(2)
    expect(byUser.next_cursor).toEqual(expect.any(String)) // a third row is on the next page
  })

  test('--all follows every page of a list', async () => {
    for (let i = 0; i < 5; i++) await gw.admin('POST', '/v1/users', { id: `cli-page-${i}` })
    const onePage = JSON.parse((await tollgate(['users', 'list', '--limit', '2', '--json'])).stdout)
    expect(onePage.data).toHaveLength(2)
    const all = JSON.parse((await tollgate(['users', 'list', '--limit', '2', '--all', '--json'])).stdout)
    expect(all.data.filter((u: any) => u.id.startsWith('cli-page-'))).toHaveLength(5)
    expect(all.next_cursor).toBeNull()
  })

  test('failures: the API refusal with exit 1, a usage mistake with exit 2, never a stack trace', async () => {
    const missing = await tollgate(['users', 'get', 'nobody'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^tollgate: 404: No user/)

    const badOption = await tollgate(['users', 'create', 'x', '--budjet', '5'])
    expect(badOption.code).toBe(2)
    expect(badOption.stderr).toContain('unknown option --budjet')
    expect(badOption.stderr).toContain('usage: tollgate users create')

    const notANumber = await tollgate(['keys', 'create', 'cli-keys', '--rpm', 'lots'])
    expect(notANumber.code).toBe(2)

    const unknown = await tollgate(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('tollgate users list')

    const noKey = await tollgate(['users', 'list'], { TOLLGATE_MASTER_KEY: '' })
    expect(noKey.code).toBe(1)
    expect(noKey.stderr).toContain('TOLLGATE_MASTER_KEY is not set')

    const wrongKey = await tollgate(['users', 'list'], { TOLLGATE_MASTER_KEY: 'x'.repeat(40) })
    expect(wrongKey.code).toBe(1)
    expect(wrongKey.stderr).toMatch(/tollgate: 401/)

    const unreachable = await tollgate(['users', 'list'], { TOLLGATE_URL: 'http://127.0.0.1:9' })
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toContain('cannot reach the gateway')
  })

  test('no command, or serve, still runs the gateway', async () => {
    const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts'), 'serve'], {
      env: { PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_PORT: '0', TOLLGATE_DB: ':memory:' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    try {
      const reader = proc.stdout.getReader()
      let out = ''
      while (!/listening on/.test(out)) {
        const { value, done } = await reader.read()
        if (done) break
        out += new TextDecoder().decode(value)
      }
      const url = /listening on (http:\/\/\S+)/.exec(out)![1]!
      expect((await fetch(`${url}/health`)).status).toBe(200)
    } finally {
      proc.kill('SIGTERM')
      await proc.exited
    }
  })
})
