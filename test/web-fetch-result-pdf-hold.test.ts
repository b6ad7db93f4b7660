import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { blankPdf } from './support/pdf'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A conversation that used Anthropic's web fetch tool sends the fetched document back on the next turn, inside the
 * `web_fetch_tool_result` block (content: {type: 'web_fetch_result', content: {type: 'document', source: base64 PDF}}:
 * one block, not a list). Anthropic bills that document again as input, per page (~1,500–3,000 tokens a page),
 * exactly as a top-level `document` block. The estimate must hold it at its pages (as it does for a `document` block),
 * not at its bytes: with cap-output on, SPEC §6 makes spend <= max_budget an invariant.
 */
const PAGES = 100
const BILLED_INPUT = PAGES * 1_500

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  { cap_output_tokens: true, pdf_page_tokens: 2_000, pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } },
  (s) => ({ upstream, gw } = s),
)

test('a PDF replayed in a web_fetch_tool_result is held at its pages: spend never passes max_budget', async () => {
  const pdf = blankPdf(PAGES).toString('base64')
  expect(pdf.length).toBeLessThan(12_000)
  const document = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf }, citations: { enabled: true } }
  const body = {
    model: 'ant:m',
    max_tokens: 100,
    tools: [{ type: 'web_fetch_20250910', name: 'web_fetch', max_uses: 1, max_content_tokens: 1_000 }],
    messages: [
      { role: 'user', content: 'Summarise https://example.com/report.pdf' },
      {
        role: 'assistant',
        content: [
          { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_fetch', input: { url: 'https://example.com/report.pdf' } },
          { type: 'web_fetch_tool_result', tool_use_id: 'srvtoolu_1', content: { type: 'web_fetch_result', url: 'https://example.com/report.pdf', retrieved_at: '2026-12-01T00:00:00Z', content: document } },
          { type: 'text', text: 'It is a report.' },
        ],
      },
      { role: 'user', content: 'Now list its sections.' },
    ],
  }
  upstream.answer(() =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Done.' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: BILLED_INPUT, output_tokens: 10 },
    }),
  )
  // Its bytes (~10k tokens, ~$0.012 with the tool's allowance) fit; its pages (100 × 2,000 tokens, $0.20) do not.
  const { secret } = await gw.userWithKey({ id: 'webfetch', max_budget: 0.05 })
  const res = await fetch(gw.url + '/v1/messages', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  await res.text()
  await gw.settled()
  const user = (await gw.admin('GET', '/v1/users/webfetch')).body
  // Before the fix: 200, the provider called, and spend 0.15002 past max_budget 0.05 (the hold counted the PDF's bytes).
  expect(user.spend).toBeLessThanOrEqual(user.max_budget)
  expect(res.status).toBe(402)
  expect(upstream.calls).toHaveLength(0)
})
