/**
 * For a test file: a gateway (startTestGateway: the mock's providers `mock` and `mockant`, `mock:gpt-mock` priced
 * at $1/$2 per million) in front of a mock provider, started before the file's tests and stopped after them, as
 * withScriptedGateway does for a scripted upstream. `config` goes over the test defaults (a function of the mock
 * when it names the mock's address); `use` is handed both once they are started. A file's own beforeAll, declared
 * after this call, runs once they are.
 */
import { afterAll, beforeAll } from 'bun:test'
import { startTestGateway, type TestGateway } from './gateway'
import { startMockProvider, type MockOptions, type MockProvider } from './mock-provider'

export function withMockGateway(
  config: Record<string, unknown> | ((mock: MockProvider) => Record<string, unknown>),
  use: (started: { mock: MockProvider; gw: TestGateway }) => void,
  mockOptions: MockOptions = {},
): void {
  let started: { mock: MockProvider; gw: TestGateway } | undefined
  beforeAll(async () => {
    const mock = startMockProvider(mockOptions)
    started = { mock, gw: await startTestGateway({ mock, config: typeof config === 'function' ? config(mock) : config }) }
    use(started)
  })
  afterAll(async () => {
    await started?.gw.stop()
    await started?.mock.stop()
  })
}
