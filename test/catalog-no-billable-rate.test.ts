/**
 * `tollgate prices catalog --apply` never writes a $0/$0 row for a model the catalog prices only by charges
 * tollgate cannot bill a request by: Whisper's hours of audio, Mistral OCR's pages. Mapped to the price book,
 * such an entry had no token rate and no per-request price, yet it was not "no price in catalog": with
 * `--allow-unbilled` it was written 0/0, and the model, refused for lack of a price until then (SPEC §5), was
 * served at $0. It is now listed as no price in catalog, as an entry with no rate at all is; the operator writes
 * it free only by naming it with `--models` and saying `--allow-free`.
 */
import { expect, test } from 'bun:test'
import { catalogEntry } from '../src/cli/price-catalog'
import { withMockGateway } from './support/mock-gateway'
import { mockProviders, type TestGateway } from './support/gateway'
import { tollgateOutput } from './support/cli'

const WHISPER = 'oai:whisper-1'
const OCR = 'mis:mistral-ocr-2505'

let gw: TestGateway
withMockGateway(
  (mock) => {
    const { mock: openai } = mockProviders(mock)
    return { providers: { mock: openai, oai: { ...openai, catalog: 'openai' }, mis: { ...openai, catalog: 'mistral' } } }
  },
  (s) => ({ gw } = s),
)

const lineOf = (diff: any, model: string) => diff.models.find((m: any) => m.model === model)

async function chat(model: string) {
  const { secret } = await gw.userWithKey({ id: `asker-${Bun.hash(model).toString(36)}`, max_budget: 1 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  })
  await res.text()
  return res.status
}

test('an entry priced only in units tollgate cannot bill is no price, as one with no rate at all; one with a token or request rate is a price', () => {
  const at = new Date('2026-12-01')
  expect(catalogEntry('openai', 'whisper-1', at)!.rows[0]).toMatchObject({ noPrice: true, unbillable: ['audio_hours: 0.36', 'input_audio_hours: 0.36'] })
  expect(catalogEntry('mistral', 'mistral-ocr-2505', at)!.rows[0]!.noPrice).toBe(true)
  expect(catalogEntry('openai', 'gpt-4o-mini', at)!.rows[0]!.noPrice).toBe(false)
  // A per-request price alone bills a request (the per-request routes bill nothing else).
  expect(catalogEntry('perplexity', 'sonar', at)!.rows[0]!.noPrice).toBe(false)
})

test('--apply --allow-unbilled leaves such a model unpriced, and so refused, naming what the catalog prices it by', async () => {
  const diff = JSON.parse(await tollgateOutput(gw.url, ['prices', 'catalog', '--models', `${WHISPER},${OCR}`, '--apply', '--allow-unbilled', '--json']))
  for (const [model, charge] of [[WHISPER, 'audio_hours: 0.36'], [OCR, 'input_document_kpages: 1']] as const) {
    const line = lineOf(diff, model)
    expect(line.status).toBe('no price in catalog')
    expect(line.changes).toContain(charge)
    expect((await gw.admin('GET', `/v1/pricing/${model}`)).status).toBe(404)
    expect(await chat(model)).toBe(402)
  }
})

test('named with --models and --allow-free (and --allow-unbilled, for the charge it cannot bill), it is written free: the operator\'s word', async () => {
  const without = JSON.parse(await tollgateOutput(gw.url, ['prices', 'catalog', '--models', WHISPER, '--apply', '--allow-free', '--json']))
  expect(lineOf(without, WHISPER).status).toBe('skipped')
  expect((await gw.admin('GET', `/v1/pricing/${WHISPER}`)).status).toBe(404)

  await tollgateOutput(gw.url, ['prices', 'catalog', '--models', WHISPER, '--apply', '--allow-free', '--allow-unbilled'])
  expect((await gw.admin('GET', `/v1/pricing/${WHISPER}`)).body).toMatchObject({ input_per_million: 0, output_per_million: 0 })
})
