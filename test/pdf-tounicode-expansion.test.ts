import { expect, test } from 'bun:test'
import { toUnicodePdf } from './support/pdf'
import { pdfDocumentBody, withPdfHoldGateway } from './support/pdf-hold'

/**
 * The estimate held a page's text at the decoded bytes of its content streams ("a token is at least one byte"), but a
 * reader's text is not the content's bytes: it maps each character code through the font's `/ToUnicode` CMap, and one
 * code may map to a long string (`beginbfchar <01> <UTF-16BE of 240 characters>`). This PDF (~900 bytes) shows 5,000
 * codes `<01>`: it was held at ~11 kB of text, bounded; pypdf 6.19 extracts 1,200,000 characters (300,000 "the") from
 * its one page. With cap-output on, SPEC §6 makes spend <= max_budget an invariant. At $1/M input and $2/M output.
 */
const BILLED_INPUT = 300_000

const holds = withPdfHoldGateway()

test('a page whose 5,000 codes a ToUnicode CMap maps to 240 characters each is held for the 1.2 MB a reader extracts', async () => {
  const pdf = toUnicodePdf(5000, 'the '.repeat(60)).toString('base64')
  const { status, calls, user } = await holds.send('tounicode', '/v1/messages', pdfDocumentBody(pdf), BILLED_INPUT)
  expect({ status, calls: calls.length, spendWithinBudget: user.spend <= user.max_budget, spend: user.spend }).toEqual({
    status: 402, calls: 0, spendWithinBudget: true, spend: 0,
  })
})
