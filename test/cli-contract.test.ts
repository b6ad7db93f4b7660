/**
 * README "Admin CLI": "Exit codes: 0 done, 1 the gateway refused or could not be reached (its message is printed),
 * 2 a mistake on the command line (an unknown option is refused, never ignored). `tollgate help` lists every
 * command." A switch a command does not take (`users delete X --apply`) and an argument a list does not take
 * (`keys list team-a`, meant as `--user team-a`) were ignored — the user deleted, every key listed — and `help`
 * left out `migrate`.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { runTollgate } from './support/cli'
import { startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway
beforeAll(async () => {
  gw = await startTestGateway({})
  await gw.admin('POST', '/v1/users', { id: 'team-a' })
  await gw.admin('POST', '/v1/users', { id: 'team-b' })
  await gw.admin('POST', '/v1/keys', { user_id: 'team-a' })
  await gw.admin('POST', '/v1/keys', { user_id: 'team-b' })
})
afterAll(async () => gw.stop())

test('`tollgate help` lists every command, migrate included', async () => {
  const { code, stdout } = await runTollgate(gw.url, ['help'])
  expect(code).toBe(0)
  expect(stdout).toContain('migrate')
})

test('a stray argument to a list is a command-line mistake (exit 2), not silently every row', async () => {
  // An operator who means `keys list --user team-a` and types the user as an argument gets every user's keys.
  const { code, stdout } = await runTollgate(gw.url, ['keys', 'list', 'team-a'])
  expect(stdout).not.toContain('team-b')
  expect(code).toBe(2)
})

test('an option a command does not take is refused, never ignored (exit 2)', async () => {
  // --apply is only `prices catalog`'s; `users delete` takes no option at all.
  const { code } = await runTollgate(gw.url, ['users', 'delete', 'team-b', '--apply'])
  expect(code).toBe(2)
  expect((await gw.admin('GET', '/v1/users/team-b')).status).toBe(200)
})
