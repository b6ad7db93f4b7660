/**
 * An option given twice is a mistake on the command line (exit 2), never settled by taking the last value:
 * `keys create team --budget 5 --budget 500` (a wrapper script appending its own default, a shell history line
 * edited) must not create a key with a $500 ceiling when the operator typed $5. `tollgate migrate` reads its
 * options with the same parser, so `--to` or `--from` given twice is refused too, before anything is opened.
 */
import { expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'
import { runTollgate } from './support/cli'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

test('a budget given twice is refused, not the last one silently taken', async () => {
  await gw.admin('POST', '/v1/users', { id: 'dup-team' })
  const run = await runTollgate(gw.url, ['keys', 'create', 'dup-team', '--budget', '5', '--budget', '500', '--json'])
  expect(run.code).toBe(2)
  expect(run.stderr).toContain('--budget given twice')
  // Nothing created with either ceiling.
  expect((await gw.admin('GET', '/v1/keys?user_id=dup-team')).body.data).toEqual([])
})

test('the same option twice in its --name=value spelling, or a switch twice, is refused too', async () => {
  const spelled = await runTollgate(gw.url, ['users', 'create', 'dup-user', '--budget=5', '--budget', '500'])
  expect([spelled.code, spelled.stderr.includes('--budget given twice')]).toEqual([2, true])
  expect((await gw.admin('GET', '/v1/users/dup-user')).status).toBe(404)
  const switched = await runTollgate(gw.url, ['users', 'list', '--json', '--json'])
  expect([switched.code, switched.stderr.includes('--json given twice')]).toEqual([2, true])
})

for (const option of ['--to', '--from']) {
  test(`migrate ${option} given twice is refused before anything is opened`, async () => {
    const args = option === '--to'
      ? ['migrate', '--to', 'postgres://127.0.0.1:1/a', '--to', 'postgres://127.0.0.1:1/b']
      : ['migrate', '--to', 'postgres://127.0.0.1:1/a', '--from', '/nonexistent/a.db', '--from', '/nonexistent/b.db']
    const run = await runTollgate(gw.url, args)
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`${option} given twice`)
    expect(run.stderr).toContain('usage: tollgate migrate')
  })
}
