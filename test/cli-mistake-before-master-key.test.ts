/**
 * README "Admin CLI": exit 2 for a mistake on the command line, 1 when the gateway refused or could not be reached.
 * The master key was read before the command line was: with TOLLGATE_MASTER_KEY unset, `users list team-a` or
 * `keys create` (no user) exited 1 "TOLLGATE_MASTER_KEY is not set", so a script could not tell its own typo from
 * a missing setting, and fixing the setting only led to the next refusal.
 */
import { expect, test } from 'bun:test'
import { runTollgate } from './support/cli'

/** Nothing listens here: a command that got as far as calling the gateway would exit 1, never 2. */
const NOWHERE = 'http://127.0.0.1:9'

const MISTAKES = [
  ['users', 'list', 'team-a'],
  ['keys', 'create'],
  ['users', 'create', 'team-a', '--budget', '0x10'],
  ['usage', 'list', '--since', 'yesterday'],
  ['prices', 'catalog', 'apply'],
  ['prices', 'catalog', '--allow-free'],
]

test('a command-line mistake is exit 2 with the master key unset, as with it set', async () => {
  for (const args of MISTAKES) {
    const { code, stderr } = await runTollgate(NOWHERE, args, { TOLLGATE_MASTER_KEY: '' })
    expect({ args, code, key: stderr.includes('TOLLGATE_MASTER_KEY') }).toEqual({ args, code: 2, key: false })
  }
}, 60_000) // six processes, on a busy machine

test('a well-formed command with the key unset still exits 1 saying so', async () => {
  const { code, stderr } = await runTollgate(NOWHERE, ['users', 'list'], { TOLLGATE_MASTER_KEY: '' })
  expect(code).toBe(1)
  expect(stderr).toContain('TOLLGATE_MASTER_KEY is not set')
})
