/**
 * `tollgate prices catalog` ignores a positional argument, where every other command refuses one
 * (README "Admin CLI": exit 2 for a mistake on the command line; commands.ts noArguments: "an argument there is
 * a mistake, not ignored"). `prices catalog apply` (the dashes forgotten) shows the diff, writes nothing and
 * exits 0, so a script that runs it to import prices believes they were imported; `--models a b` writes only a.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
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

test('`prices catalog apply` (a stray word) is a command-line mistake: exit 2, as `users list team-a` is', async () => {
  // The other list-like commands refuse a stray argument with exit 2.
  expect((await runTollgate(gw.url, ['users', 'list', 'apply'])).code).toBe(2)
  const run = await runTollgate(gw.url, ['prices', 'catalog', 'apply'])
  // Refused before any diff: a diff ending "Nothing written" and exit 0 is what a script took for an import.
  expect(run.stdout).not.toContain('Nothing written')
  expect(run.stderr).toContain('unexpected argument "apply"')
  expect(run.code).toBe(2)
})

test('`prices catalog --models a b` does not drop b unsaid', async () => {
  const run = await runTollgate(gw.url, ['prices', 'catalog', '--models', 'mock:gpt-mock', 'mock:other-model'])
  expect(run.stderr).toContain('unexpected argument "mock:other-model"')
  expect(run.code).toBe(2)
})
