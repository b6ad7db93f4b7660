import { expect, test } from 'bun:test'
import { deflatedTextPdf } from './support/pdf'
import { pdfDocumentBody, withPdfHoldGateway } from './support/pdf-hold'

/**
 * A PDF is billed per page for its image AND for the text extracted from each page (Anthropic: "the system converts
 * each page into an image and extracts text"; ~1,500–3,000 tokens a page is only a typical density). A page's text
 * lives in its content stream, which is Flate-compressed: 1.2 MB of text is ~3 kB of PDF, as the gateway says of a
 * .docx ("its text is deflated, so its bytes do not bound what the provider extracts"). An inline PDF was held at
 * max(bytes, pages × pdf_page_tokens): here one page and ~8 kB of base64, ~8,700 tokens, for ~300,000 tokens of text.
 * It is held for its pages plus its content streams inflated. With cap-output on, SPEC §6 makes spend <= max_budget
 * an invariant. At $1/M input and $2/M output, a token costs one or two micro-USD.
 */
const TEXT = 'the '.repeat(300_000) // 1.2 MB of text: ~300,000 tokens (" the" is one token)
const BILLED_INPUT = 300_000

const holds = withPdfHoldGateway()

test('a one-page PDF whose content stream inflates to 1.2 MB of text is held for that text: spend never passes max_budget', async () => {
  const pdf = deflatedTextPdf(TEXT).toString('base64')
  expect(pdf.length).toBeLessThan(10_000) // vs TEXT.length 1,200,000
  const { status, calls, user } = await holds.send('deflated', '/v1/messages', pdfDocumentBody(pdf), BILLED_INPUT)
  // Before the fix: 200 (held 8,786 micro-USD: the PDF's ~8 kB of base64), the provider called, spend 0.30002 past max_budget 0.05.
  expect(user.spend).toBeLessThanOrEqual(user.max_budget)
  expect(status).toBe(402)
  expect(calls).toHaveLength(0)
})
