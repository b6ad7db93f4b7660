/**
 * `tollgate prices catalog --apply` never writes a row that bills a model for less than the catalog says the
 * provider charges. A charge tollgate has a field for is written to it: Perplexity's Sonar per-request fee
 * (`requests_kcount`: $12 per 1000 requests, far above the token cost of a short request) becomes
 * `per_request`. A charge it cannot bill (Mistral OCR's per-page price) leaves the model unpriced, so still
 * refused; with nothing else to bill it by, the model is no price in catalog, and `--allow-unbilled` does not
 * write it at $0 either (test/catalog-no-billable-rate.test.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { mockProviders, startTestGateway, type TestGateway } from './support/gateway'
import { tollgateOutput } from './support/cli'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  const { mock: openai } = mockProviders(mock)
  gw = await startTestGateway({ mock, config: { providers: { mock: openai, pplx: { ...openai, catalog: 'perplexity' }, mis: { ...openai, catalog: 'mistral' } } } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const tollgate = (args: string[]) => tollgateOutput(gw.url, args)

test('a catalog per-request fee (Perplexity sonar, $0.012/request) is billed after --apply, or the model stays refused', async () => {
  const { secret } = await gw.userWithKey({ id: 'searcher', max_budget: 10 })
  const ask = () =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'pplx:sonar', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    })
  // Unpriced: refused before any upstream call.
  expect((await ask()).status).toBe(402)

  const diff = JSON.parse(await tollgate(['prices', 'catalog', '--models', 'pplx:sonar', '--json']))
  expect(diff.models.find((m: any) => m.model === 'pplx:sonar')).toMatchObject({ model: 'pplx:sonar', status: 'new', catalog_model: 'perplexity/sonar' })
  await tollgate(['prices', 'catalog', '--models', 'pplx:sonar', '--apply'])

  const res = await ask()
  await res.text()
  if (res.status === 402) return // still refused: nothing leaks
  expect(res.status).toBe(200)
  await gw.settled()
  const [row] = (await gw.admin('GET', '/v1/usage?user_id=searcher&limit=1')).body.data
  // Perplexity bills ~20 tokens at $1/M (≈ $0.00002) plus $12/1000 requests: at least $0.012.
  expect(row.cost).toBeGreaterThanOrEqual(0.012)
})

test('a catalog charge tollgate cannot bill (per page), and nothing it can, leaves the model unpriced, even with --allow-unbilled', async () => {
  const diff = JSON.parse(await tollgate(['prices', 'catalog', '--models', 'mis:mistral-ocr-2505', '--json']))
  const line = diff.models.find((m: any) => m.model === 'mis:mistral-ocr-2505')
  expect(line).toMatchObject({ status: 'no price in catalog', catalog_model: 'mistral/mistral-ocr-2505' })
  expect(line.changes).toContain('input_document_kpages: 1')
  await tollgate(['prices', 'catalog', '--models', 'mis:mistral-ocr-2505', '--apply'])
  expect((await gw.admin('GET', '/v1/pricing/mis:mistral-ocr-2505')).status).toBe(404)

  // Written, its 0/0 row would serve every page at $0.
  await tollgate(['prices', 'catalog', '--models', 'mis:mistral-ocr-2505', '--apply', '--allow-unbilled'])
  expect((await gw.admin('GET', '/v1/pricing/mis:mistral-ocr-2505')).status).toBe(404)
})
