/**
 * Red team (jy): fix-answerbound (010d48bf) bounds a Messages JSON answer by its held *output* tokens (64 bytes a
 * token, src/translate/answer-bound.ts), but an Anthropic answer also carries what its server tools brought back,
 * which is held as *input*: a web fetch of a PDF is returned in the answer whole, base64, in its
 * `web_fetch_tool_result` block (Anthropic's documented shape, as test/web-fetch-result-pdf-hold.test.ts replays it).
 * The hold covers `max_uses x max_content_tokens` of such input (README "Tools billed by their tokens alone are
 * bounded by what they bring back"); the answer bound counts none of it. Three fetched 20-page scanned PDFs of
 * 10 MB each (~40K tokens each, inside max_content_tokens 100,000) make a 40 MB answer: refused 502 and charged its
 * whole hold, though Anthropic ran and billed the fetches and the turn.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { fixedJsonProvider } from './support/fixed-json-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'

const FETCHES = 3
const PDF_BYTES = 10_000_000
const TOKENS_PER_PDF = 40_000

const provider = fixedJsonProvider()

let gw: TestGateway
let secret: string

beforeAll(async () => {
  const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(PDF_BYTES, 0x5a)]).toString('base64')
  const content: unknown[] = []
  for (let i = 0; i < FETCHES; i++) {
    const url = `https://example.com/scan-${i}.pdf`
    content.push({ type: 'server_tool_use', id: `srvtoolu_${i}`, name: 'web_fetch', input: { url } })
    content.push({
      type: 'web_fetch_tool_result', tool_use_id: `srvtoolu_${i}`,
      content: { type: 'web_fetch_result', url, retrieved_at: '2026-12-01T00:00:00Z', content: { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf }, citations: { enabled: true } } },
    })
  }
  content.push({ type: 'text', text: 'The three reports agree on the totals.' })
  provider.wire = new TextEncoder().encode(JSON.stringify({
    id: 'msg_fetch', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content,
    stop_reason: 'end_turn', stop_sequence: null,
    usage: { input_tokens: 30 + FETCHES * TOKENS_PER_PDF, output_tokens: 900, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, server_tool_use: { web_search_requests: 0, web_fetch_requests: FETCHES } },
  }))
  gw = await startTestGateway({
    config: {
      providers: { ant: { type: 'anthropic', base_url: `http://127.0.0.1:${provider.server.port}`, api_key: 'sk-ant-upstream-secret-0123456789' } },
      pricing: { 'ant:claude-sonnet-4-5': { input_per_million: 3, output_per_million: 15 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'rt-jy-fetch', max_budget: 10 }))
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await provider.server.stop(true)
})

test('a Messages answer carrying the PDFs its web fetches (held as input) brought back is relayed and billed by its usage, not refused 502', async () => {
  console.log(`answer on the provider.wire: ${(provider.wire.byteLength / 1024 / 1024).toFixed(1)} MiB`)
  let status = 0
  let blocks = 0
  let message = ''
  const row = await settledRow(gw, 'rt-jy-fetch', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'ant:claude-sonnet-4-5',
        max_tokens: 4096,
        tools: [{ type: 'web_fetch_20250910', name: 'web_fetch', max_uses: 5, max_content_tokens: 100_000 }],
        messages: [{ role: 'user', content: 'Fetch the three scanned reports at https://example.com/scan-0.pdf, -1 and -2 and compare their totals.' }],
      }),
    })
    status = res.status
    const body = (await res.json()) as any
    blocks = body.content?.length ?? 0
    message = body.error?.message ?? ''
  })
  console.log(`status ${status} ${message}; row ${JSON.stringify(row)}`)
  expect({ status, message }).toEqual({ status: 200, message: '' })
  expect(blocks).toBe(2 * FETCHES + 1)
  expect(row.status).toBe('ok')
  expect(row.cost).toBeLessThan(row.reserved)
}, 60_000)
