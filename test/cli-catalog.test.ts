/**
 * `tollgate prices catalog` with the real catalog package (pinned) against a gateway with models of several
 * providers: the diff is right, --apply writes rows citing their source, a second run shows no changes.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { catalogSource } from '../src/cli/price-catalog'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { mockProviders, startTestGateway, type TestGateway } from './support/gateway'
import { tollgateOutput } from './support/cli'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  const { mock: openai, mockant: anthropic } = mockProviders(mock)
  gw = await startTestGateway({
    mock,
    config: {
      providers: { oai: { ...openai, catalog: 'openai' }, ant: { ...anthropic, catalog: 'anthropic' }, local: { ...openai } },
      aliases: { fast: 'oai:gpt-4o-mini' },
      pricing: {
        // Wrong on purpose (the catalog says 2.5 / 10 / 1.25), with a per-request price, a media bound and a context window the catalog knows nothing of.
        'oai:gpt-4o': { input_per_million: 2, output_per_million: 10, per_request: 0.001, media_part_tokens: 8000, context_window_tokens: 128_000, template_overhead_tokens: 0 },
        'local:llama3': { input_per_million: 0, output_per_million: 0 },
        'oai:my-finetune': { input_per_million: 3, output_per_million: 12 },
        // Priced the way the catalog did before a row could carry a long-context threshold: at GPT-5.4's dearest
        // prompt-size tier (past 272K), which over-bills every shorter prompt; with a tier the catalog does not speak of.
        'oai:gpt-5.4': { input_per_million: 5, output_per_million: 22.5, cached_input_per_million: 0.5, service_tiers: { priority: 2 } },
      },
      alerts: { check_interval_ms: 50 },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const tollgate = (args: string[]) => tollgateOutput(gw.url, args)

describe('tollgate prices catalog', () => {
  test('diff, apply, and a second run with nothing to do', async () => {
    // A Claude model asked for and refused for lack of a price: the catalog covers it too.
    const { secret } = await gw.userWithKey({ id: 'asker' })
    const refused = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'ant:claude-sonnet-4-20250514', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(refused.status).toBe(402)
    await Bun.sleep(200)

    const diff = JSON.parse(await tollgate(['prices', 'catalog', '--json']))
    const by = Object.fromEntries(diff.models.map((m: any) => [m.model, m]))
    expect(diff.source).toBe(catalogSource())
    expect(diff.applied).toBe(false)
    expect(by['oai:gpt-4o'].status).toBe('changed')
    expect(by['oai:gpt-4o'].changes).toContain('input 2 → 2.5')
    expect(by['oai:gpt-4o-mini'].status).toBe('new') // an alias target
    expect(by['ant:claude-sonnet-4-20250514']).toMatchObject({ status: 'new', catalog_model: 'anthropic/claude-sonnet-4-0' })
    expect(by['local:llama3'].status).toBe('no catalog provider')
    expect(by['oai:my-finetune'].status).toBe('not in catalog')
    expect(by['oai:gpt-5.4'].status).toBe('changed')
    expect(by['oai:gpt-5.4'].changes).toBe('input 5 → 2.5; output 22.5 → 15; cached_input 0.5 → 0.25; long_context_above_tokens - → 271999; web_search - → 0.01; long_context - → 2; long_context_output - → 1.5')
    // Nothing was written.
    expect((await gw.admin('GET', '/v1/pricing/oai:gpt-4o')).body.input_per_million).toBe(2)
    expect((await gw.admin('GET', '/v1/pricing/oai:gpt-4o-mini')).status).toBe(404)

    const table = await tollgate(['prices', 'catalog'])
    expect(table).toMatch(/oai:gpt-4o\s+changed\s+now\s+input 2 → 2\.5/)
    expect(table).toContain('Nothing written')

    await tollgate(['prices', 'catalog', '--apply'])
    const gpt4o = (await gw.admin('GET', '/v1/pricing/oai:gpt-4o')).body
    expect(gpt4o).toMatchObject({ input_per_million: 2.5, output_per_million: 10, cached_input_per_million: 1.25, per_request: 0.001, media_part_tokens: 8000, context_window_tokens: 128_000, template_overhead_tokens: 0 })
    expect(gpt4o.source).toBe(`${catalogSource()} openai/gpt-4o`)
    // The base rates, the long-context rates past the tier's start, and the operator's own tier kept.
    expect((await gw.admin('GET', '/v1/pricing/oai:gpt-5.4')).body).toMatchObject({
      input_per_million: 2.5, output_per_million: 15, cached_input_per_million: 0.25,
      service_tiers: { priority: 2, long_context: 2, long_context_output: 1.5 }, long_context_above_tokens: 271999,
    })
    const sonnet = (await gw.admin('GET', '/v1/pricing/ant:claude-sonnet-4-20250514')).body
    expect(sonnet).toMatchObject({ input_per_million: 3, output_per_million: 15, cache_write_per_million: 3.75, cache_write_1h_per_million: 6, server_tools: { web_search: 0.01 } })
    expect((await gw.admin('GET', '/v1/pricing/local:llama3')).body.source).toBeNull()
    // The refused model is served now.
    const served = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'ant:claude-sonnet-4-20250514', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(served.status).toBe(200)

    const again = JSON.parse(await tollgate(['prices', 'catalog', '--json']))
    const statuses = new Set(again.models.map((m: any) => m.status))
    expect(statuses.has('new')).toBe(false)
    expect(statuses.has('changed')).toBe(false)
    expect(statuses.has('scheduled')).toBe(false)
    expect(again.models.filter((m: any) => m.status === 'unchanged').length).toBeGreaterThanOrEqual(3)
  })

  test('--models adds models to look up, by alias or provider/model', async () => {
    const out = JSON.parse(await tollgate(['prices', 'catalog', '--models', 'oai/gpt-5,ant:claude-opus-4-8', '--json']))
    const by = Object.fromEntries(out.models.map((m: any) => [m.model, m]))
    expect(by['oai:gpt-5']).toMatchObject({ status: 'new', catalog_model: 'openai/gpt-5' })
    expect(by['ant:claude-opus-4-8'].status).toBe('new')
  })
})
