import { expect, test } from 'bun:test'
import { blankPdf } from './support/pdf'
import { withPdfHoldGateway } from './support/pdf-hold'

/**
 * A conversation that used Anthropic's web fetch tool sends the fetched document back on the next turn, inside the
 * `web_fetch_tool_result` block (content: {type: 'web_fetch_result', content: {type: 'document', source: base64 PDF}}:
 * one block, not a list). Anthropic bills that document again as input, per page (~1,500–3,000 tokens a page),
 * exactly as a top-level `document` block. The estimate must hold it at its pages (as it does for a `document` block),
 * not at its bytes: with cap-output on, SPEC §6 makes spend <= max_budget an invariant.
 */
const PAGES = 100
const BILLED_INPUT = PAGES * 1_500

const holds = withPdfHoldGateway({ pdf_page_tokens: 2_000 })

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
  // Its bytes (~10k tokens, ~$0.012 with the tool's allowance) fit; its pages (100 × 2,000 tokens, $0.20) do not.
  const { status, calls, user } = await holds.send('webfetch', '/v1/messages', body, BILLED_INPUT)
  // Before the fix: 200, the provider called, and spend 0.15002 past max_budget 0.05 (the hold counted the PDF's bytes).
  expect(user.spend).toBeLessThanOrEqual(user.max_budget)
  expect(status).toBe(402)
  expect(calls).toHaveLength(0)
})
