/**
 * SPEC §2: "an invalid value stops startup … naming the field". The config's `pricing` section is keyed
 * `provider:model` (`provider/model` works too), and each seed is stored under the model its key resolves to, an
 * alias winning as it does for requests. Two keys resolving to one model — `mock:gpt-4o` beside `mock/gpt-4o`, or
 * an alias's name beside its target — are a contradiction the operator must resolve: startup is refused, naming
 * both keys, rather than the key written last silently pricing the model.
 *
 * The money at stake: with an alias `mock/gpt-4o-mini` → `mock:gpt-4o` (a name clients hard-code sent to another
 * model, as in test/allow-list-alias-entries.test.ts) and seeds `mock:gpt-4o` at $2.50/$10 and `mock/gpt-4o-mini`
 * at the mini's $0.15/$0.60, gpt-4o was priced at $0.15/$0.60: 1,003 prompt and 5 completion tokens to
 * `mock:gpt-4o` billed 154 µ$, where gpt-4o bills 2,558 µ$.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { configSchema } from '../src/config/schema'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, mockProviders, startTestGateway } from './support/gateway'

let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider()
})
afterAll(async () => {
  await mock.stop()
})

/** Starts a gateway with this config; stops it at once if it started. Returns the error, or null when it started. */
async function startupError(config: Record<string, unknown>): Promise<Error | null> {
  const started = await startTestGateway({ mock, config }).then((gw) => gw, (e: Error) => e)
  if (started instanceof Error) return started
  await started.stop()
  return null
}

test('two pricing keys spelling one model (provider:model and provider/model) are refused at startup', async () => {
  const error = await startupError({
    pricing: {
      'mock:gpt-4o': { input_per_million: 2.5, output_per_million: 10 },
      'mock/gpt-4o': { input_per_million: 0.15, output_per_million: 0.6 },
    },
  })
  expect(error?.message ?? 'the gateway started').toContain('pricing')
  expect(error?.message ?? 'the gateway started').toContain('mock/gpt-4o')
})

test('a pricing key that is an alias of a model priced under its own name is refused at startup (not gpt-4o at mini rates)', async () => {
  const error = await startupError({
    aliases: { 'mock/gpt-4o-mini': 'mock:gpt-4o' },
    pricing: {
      'mock:gpt-4o': { input_per_million: 2.5, output_per_million: 10 },
      'mock/gpt-4o-mini': { input_per_million: 0.15, output_per_million: 0.6 },
    },
  })
  expect(error?.message ?? 'the gateway started').toContain('pricing')
  expect(error?.message ?? 'the gateway started').toContain('mock/gpt-4o-mini')
})

test('the refusal names the second key as the field and the first in its message; distinct models are accepted', () => {
  const parse = (pricing: Record<string, unknown>, aliases: Record<string, string> = {}) =>
    configSchema.safeParse({ master_key: MASTER_KEY, providers: mockProviders(mock), aliases, pricing })
  const seed = { input_per_million: 1, output_per_million: 2 }
  const refused = parse({ 'mock:gpt-4o': seed, 'mock:gpt-4o-mini': seed, 'mock/gpt-4o': seed })
  expect(refused.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
    'pricing.mock/gpt-4o: names the same model (mock:gpt-4o) as pricing key mock:gpt-4o: keep one of them',
  ])
  // An alias priced alone prices its target; the other provider's model of the same id is another model.
  expect(parse({ 'mock/gpt-4o-mini': seed, 'mockant:gpt-4o': seed, 'mock:gpt-4o-mini': seed }, { 'mock/gpt-4o-mini': 'mock:gpt-4o' }).success).toBe(true)
})
