import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * An embeddings hold covers each input's special tokens. The OpenAI-compatible servers the SPEC names
 * (vLLM, Ollama, TEI-backed hosts) frame every input with the model's special tokens and bill them in
 * `usage.prompt_tokens`: a BERT-type embedding model (bge, e5, nomic) reads "a" as [CLS] a [SEP], 3 tokens;
 * Qwen3-Embedding appends an EOS. Held at its bytes alone, an input of many short strings was billed up to
 * 3× its hold, and an empty string held at 0 tokens passed any budget, a spent one too. With cap-output on,
 * SPEC §6 makes `spend <= max_budget` an invariant. A model priced 0/0 stays free, and served at budget 0.
 */

// $1 per million input tokens: 1 µUSD a token.
const PRICING = {
  'plain:embed': { input_per_million: 1, output_per_million: 0 },
  'plain:free-embed': { input_per_million: 0, output_per_million: 0 },
}
/** What a BERT-type embedding model bills per input: its tokens (here one a byte) plus [CLS] and [SEP]. */
const SPECIAL_TOKENS_PER_INPUT = 2

let upstream: ScriptedUpstream
let gw: TestGateway

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({ config: { providers: scriptedProviders(upstream), pricing: PRICING, cap_output_tokens: true } })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})
beforeEach(() => {
  upstream.calls.length = 0
  upstream.answer(({ body }) => {
    const inputs: string[] = typeof body.input === 'string' ? [body.input] : body.input
    const tokens = inputs.reduce((n, s) => n + Buffer.byteLength(s) + SPECIAL_TOKENS_PER_INPUT, 0)
    return jsonResponse({
      object: 'list',
      data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.1, 0.2] })),
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    })
  })
})

const embed = (secret: string, input: unknown, model = 'plain:embed') =>
  fetch(`${gw.url}/v1/embeddings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, input }),
  })

async function userFigures(id: string): Promise<{ spend: number; max_budget: number }> {
  await gw.settled()
  return (await gw.admin('GET', `/v1/users/${id}`)).body
}

test('cap-output on: 1,000 one-letter inputs under a budget of their bytes never spend past max_budget', async () => {
  const { secret } = await gw.userWithKey({ id: 'rc-emb-1', max_budget: 0.001 }) // 1,000 tokens
  const res = await embed(secret, Array(1000).fill('a'))
  await res.arrayBuffer()
  if (res.status === 200) expect(upstream.calls).toHaveLength(1)
  else expect(upstream.calls).toHaveLength(0)
  const { spend, max_budget } = await userFigures('rc-emb-1')
  expect(spend).toBeLessThanOrEqual(max_budget)
})

test('a user with nothing left is not served an embedding of empty strings (held at 0, billed by the provider)', async () => {
  const { secret } = await gw.userWithKey({ id: 'rc-emb-2', max_budget: 0 })
  const res = await embed(secret, ['', '', ''])
  await res.arrayBuffer()
  expect(res.status).toBe(402)
  expect(upstream.calls).toHaveLength(0)
  expect((await userFigures('rc-emb-2')).spend).toBe(0)
})

test('a model priced 0/0 is still served free to a user at budget 0', async () => {
  const { secret } = await gw.userWithKey({ id: 'rc-emb-3', max_budget: 0 })
  const res = await embed(secret, ['', 'a'], 'plain:free-embed')
  await res.arrayBuffer()
  expect(res.status).toBe(200)
  expect(upstream.calls).toHaveLength(1)
  expect((await userFigures('rc-emb-3')).spend).toBe(0)
})
