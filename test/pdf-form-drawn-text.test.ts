import { expect, test } from 'bun:test'
import { formDrawnPdf } from './support/pdf'
import { pdfDocumentBody, withPdfHoldGateway } from './support/pdf-hold'

/**
 * A page's text is not only in its `/Contents`: a Form XObject's text is shown each time the page draws it (`/X Do`),
 * and readers extract it each time (pypdf 6.19 reads 1,200,299 characters, 300,000 "the", from this PDF's one page;
 * pdf.js does the same). The estimate counted the form's stream once and the page's content by its bytes (300 ×
 * "/X Do\n" = 1.8 kB): ~5.8 kB of text, bounded, for ~300,000 tokens a provider extracts, from a PDF of ~800 bytes.
 * With cap-output on, SPEC §6 makes spend <= max_budget an invariant. At $1/M input and $2/M output.
 */
const BILLED_INPUT = 300_000

const holds = withPdfHoldGateway()

test('a page that draws a Form XObject of 4 kB of text 300 times is held for the 1.2 MB a reader extracts', async () => {
  const pdf = formDrawnPdf('the '.repeat(1000), 300).toString('base64')
  const { status, calls, user } = await holds.send('form-drawn', '/v1/messages', pdfDocumentBody(pdf), BILLED_INPUT)
  expect({ status, calls: calls.length, spendWithinBudget: user.spend <= user.max_budget, spend: user.spend }).toEqual({
    status: 402, calls: 0, spendWithinBudget: true, spend: 0,
  })
})
