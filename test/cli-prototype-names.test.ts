/**
 * A name the CLI looks up — a model given with `prices catalog --models` (among the aliases), a command, an
 * option of a list — that is an Object.prototype member (`constructor`, `toString`, `__proto__`) is a name like
 * any other: not an alias, not a command, not a filter. Found on the prototype, it crashed the command with a
 * TypeError stack trace, or sent a bogus query parameter, where the CLI promises exit 0/1/2 and never a trace.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { mockProviders, startTestGateway, type TestGateway } from './support/gateway'
import { runTollgate } from './support/cli'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  const { mock: openai } = mockProviders(mock)
  gw = await startTestGateway({ mock, config: { providers: { oai: { ...openai, catalog: 'openai' } }, pricing: {} } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const noTrace = (stderr: string) => {
  expect(stderr).not.toContain('TypeError')
  expect(stderr).not.toMatch(/\n\s+at /)
}

test('prices catalog --models constructor: no stack trace, a clean exit', async () => {
  const run = await runTollgate(gw.url, ['prices', 'catalog', '--models', 'constructor', '--json'])
  noTrace(run.stderr)
  expect([0, 1, 2]).toContain(run.code)
})

test('a command named constructor, toString or __proto__ is an unknown command (exit 2)', async () => {
  for (const argv of [['users', 'constructor'], ['users', 'toString'], ['prices', '__proto__'], ['constructor']]) {
    const run = await runTollgate(gw.url, argv)
    noTrace(run.stderr)
    expect({ argv, code: run.code }).toEqual({ argv, code: 2 })
    expect(run.stderr).toContain(argv.length === 1 ? 'unknown command "constructor"' : `unknown ${argv[0]} command`)
  }
})

test('a list option named constructor or __proto__ is an unknown option (exit 2), not a query parameter', async () => {
  for (const argv of [['usage', 'list', '--constructor', 'x'], ['users', 'list', '--__proto__', 'x'], ['usage', 'summary', '--toString', 'x']]) {
    const run = await runTollgate(gw.url, argv)
    expect({ argv, code: run.code }).toEqual({ argv, code: 2 })
    expect(run.stderr).toContain(`unknown option ${argv[2]}`)
  }
})
