/**
 * `tollgate prices catalog --apply` never turns "the catalog states no price for this model" into a $0/$0 row.
 * genai-prices lists some models with an empty price set (`prices: {}`): Cerebras' `qwen-3-coder-480b` ("Seems
 * to be no longer available on cerebras, here to help with tests"), but also OpenRouter's `:free` models. Read
 * as 0/0, the first showed as `new` and --apply wrote a free row citing the catalog: a model refused for lack of
 * a price (SPEC §5) was then served at $0. Such an entry is `no price in catalog` and left as it is; the
 * operator writes it free only by naming it with `--models` and adding `--allow-free`.
 */
import { expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import { mockProviders, type TestGateway } from './support/gateway'
import { runTollgate, tollgateOutput } from './support/cli'

const GONE = 'cb:qwen-3-coder-480b'
const FREE = 'or:meta-llama/llama-3.3-70b-instruct:free'
const PRICED_FREE = 'or:deepseek/deepseek-r1:free'

let gw: TestGateway
withMockGateway(
  (mock) => {
    const { mock: openai } = mockProviders(mock)
    return {
      providers: { mock: openai, cb: { ...openai, catalog: 'cerebras' }, or: { ...openai, catalog: 'openrouter' } },
      // The operator's own price for a model the catalog lists with no rate: kept, never "changed" to 0.
      pricing: { [PRICED_FREE]: { input_per_million: 1, output_per_million: 2 } },
    }
  },
  (s) => ({ gw } = s),
)

const lineOf = (diff: any, model: string) => diff.models.find((m: any) => m.model === model)

async function chat(model: string) {
  const { secret } = await gw.userWithKey({ id: `asker-${Bun.hash(model).toString(36)}`, max_budget: 1 })
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  })
}

test('a catalog entry with no prices is listed as such and not applied as a free row', async () => {
  const diff = JSON.parse(await tollgateOutput(gw.url, ['prices', 'catalog', '--models', GONE, '--json']))
  const line = lineOf(diff, GONE)
  expect(line.catalog_model).toBe('cerebras/qwen-3-coder-480b') // the catalog does know the model…
  expect(line.status).toBe('no price in catalog') // …but states no price for it
  expect(line.notes.join('\n')).toContain('no longer available') // the catalog's own comment, for the operator to judge

  await tollgateOutput(gw.url, ['prices', 'catalog', '--models', GONE, '--apply'])
  // Still unpriced: refused while pricing is required, never served free.
  expect((await gw.admin('GET', `/v1/pricing/${GONE}`)).status).toBe(404)
  expect((await chat(GONE)).status).toBe(402)
})

test("a model the operator priced keeps its price where the catalog states none", async () => {
  const diff = JSON.parse(await tollgateOutput(gw.url, ['prices', 'catalog', '--apply', '--json']))
  expect(lineOf(diff, PRICED_FREE).status).toBe('no price in catalog')
  expect((await gw.admin('GET', `/v1/pricing/${PRICED_FREE}`)).body).toMatchObject({ input_per_million: 1, output_per_million: 2 })
})

test('--allow-free writes a free row only for the models named with --models', async () => {
  const unnamed = await runTollgate(gw.url, ['prices', 'catalog', '--apply', '--allow-free'])
  expect([unnamed.code, unnamed.stderr.includes('--allow-free applies to the models named with --models')]).toEqual([2, true])

  // A key holder asks for a free model: refused, and so listed by the catalog command, but not named.
  expect((await chat(FREE)).status).toBe(402)
  await Bun.sleep(300)
  const diff = JSON.parse(await tollgateOutput(gw.url, ['prices', 'catalog', '--models', GONE, '--apply', '--allow-free', '--json']))
  expect(lineOf(diff, FREE).status).toBe('no price in catalog')
  expect((await gw.admin('GET', `/v1/pricing/${FREE}`)).status).toBe(404)
  // The one named is written free, citing the catalog: the operator's word, not the catalog's silence.
  expect(lineOf(diff, GONE)).toMatchObject({ status: 'new', changes: 'input 0; output 0; applied' })
  const written = (await gw.admin('GET', `/v1/pricing/${GONE}`)).body
  expect(written).toMatchObject({ input_per_million: 0, output_per_million: 0 })
  expect(written.source).toContain('@pydantic/genai-prices@')
})
