import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * Mutation guard. SPEC/README: the hold is the worst case, settled at the real cost after: an embeddings
 * request is "priced by input tokens", the tokens the provider reports in `usage.prompt_tokens`. The existing
 * embeddings tests check the hold (spend <= max_budget, 402 at budget 0) and the zero-usage case, but none checks
 * that a normal answer is billed at what the provider reported rather than at its hold: a route that ignored the
 * usage (`usageOf: () => null`, charging the whole hold) passed them all, over-billing every embeddings call.
 */
const USER = 'embed-usage'
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      // $1 per million input tokens: 1 µUSD a token.
      pricing: { 'plain:embed': { input_per_million: 1, output_per_million: 0 } },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const spend = async () => {
  await gw.settled()
  return (await gw.admin('GET', `/v1/users/${USER}`)).body.spend as number
}

test('embeddings are billed at the prompt_tokens the provider reports, not at the hold', async () => {
  for (const [input, reported] of [
    ['a sentence of some length to embed, well over its token count in bytes', 14],
    [[[101, 2023, 2003, 102], [101, 7592, 102]], 7],
  ] as const) {
    upstream.answer(() =>
      jsonResponse({
        object: 'list',
        model: 'embed',
        data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
        usage: { prompt_tokens: reported, total_tokens: reported },
      }),
    )
    const before = await spend()
    const res = await fetch(`${gw.url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:embed', input }),
    })
    expect(res.status).toBe(200)
    await res.arrayBuffer()
    const after = await spend()
    const row = gw.query<{ prompt_tokens: number; reserved: number }>('SELECT prompt_tokens, reserved FROM usage ORDER BY id DESC LIMIT 1')[0]!
    // The hold is larger than what was reported (the input's bytes plus 8 tokens an input): the settlement is not.
    expect(row.reserved).toBeGreaterThan(reported)
    expect(row.prompt_tokens).toBe(reported)
    expect(Math.round((after - before) * 1e6)).toBe(reported)
  }
})
