/**
 * Mutation guard. `GET /v1/models` lists a price row under its model only when that name is the model
 * a request naming it reaches (its canonical `provider:model`): README "an alias still wins". An operator who priced
 * `mock:gpt-old` and later made `mock:gpt-old` an alias of `mock:gpt-mock` (a renamed model) leaves the old row behind;
 * a request for `mock:gpt-old` now goes to `mock:gpt-mock` at that model's price. The list must show `mock:gpt-old`
 * once, at the price it is billed (the alias's target's), not a second time at the stale row's.
 *
 * Kills: src/routes/models.ts modelsFor, priced loop: `model?.canonical === price.model && servable(…)` →
 * `model && servable(…)`, which models-retrieve-spellings, bare-models, models-unserved-not-listed, surface-openai
 * and edge-limits survived.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { aliases: { 'mock:gpt-old': 'mock:gpt-mock' } } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('a price row left under a name that is now an alias is not listed as that name beside the alias', async () => {
  // The row written before the alias existed (the API now stores a price for `mock:gpt-old` under its target).
  gw.exec('INSERT INTO prices (model, input_per_million, output_per_million, created_at) VALUES ($1, $2, $3, $4)', 'mock:gpt-old', 9_000_000, 9_000_000, Date.now() - 60_000)
  const res = await fetch(`${gw.url}/v1/models`, { headers: gw.master })
  const data = ((await res.json()) as { data: Array<{ id: string; pricing: { input_per_million: number } | null }> }).data
  const old = data.filter((m) => m.id === 'mock:gpt-old')
  // Once, at the target's price ($1/M in the test config), which is what a request naming it is billed.
  expect(old.map((m) => m.pricing?.input_per_million)).toEqual([1])
})
