import { expect, test } from 'bun:test'
import { toUnicodePdf } from './support/pdf'
import { pdfDocumentBody, withPdfHoldGateway } from './support/pdf-hold'

/**
 * A token is at least one byte of the text as a tokenizer reads it: Anthropic's normalizes to NFKC first, where
 * U+FDFA (3 bytes) is 33 bytes and 15 Claude tokens. The text a PDF's page shows is what its font's `/ToUnicode`
 * CMap maps each code to, so a code is weighed at the UTF-8 bytes of its destination's NFKC form: weighed at the
 * destination's UTF-16 units, a page of 10,000 codes 01 mapped to U+FDFA (a PDF of ~1 kB) was held ~23,000 tokens
 * while Claude extracts 10,000 × U+FDFA and bills 150,000. With cap-output on, SPEC §6 makes spend <= max_budget an
 * invariant (a PDF's input is charged whole). At $1/M input and $2/M output.
 */
const CODES = 10_000
const BILLED_INPUT = CODES * 15

const holds = withPdfHoldGateway()

test('a page of 10,000 codes a ToUnicode CMap maps to U+FDFA is held for their NFKC bytes (33 each), not 1 a code', async () => {
  const pdf = toUnicodePdf(CODES, '\uFDFA').toString('base64')
  const { status, calls, user } = await holds.send('tounicode-nfkc', '/v1/messages', pdfDocumentBody(pdf), BILLED_INPUT)
  expect({ status, calls: calls.length, spendWithinBudget: user.spend <= user.max_budget, spend: user.spend }).toEqual({
    status: 402, calls: 0, spendWithinBudget: true, spend: 0,
  })
})

test('a page of 10,000 codes mapped to U+2A0C (3 bytes, 12 in NFKC) is held for 12 bytes a code', async () => {
  const pdf = toUnicodePdf(CODES, '\u2A0C').toString('base64')
  // ⨌ is four ∫ in NFKC, 12 bytes: the estimate's own bound is 120,000 tokens of text; the provider bills 70,000.
  const { status, calls, user } = await holds.send('tounicode-nfkc-integral', '/v1/messages', pdfDocumentBody(pdf), CODES * 4 + 30_000)
  expect({ status, calls: calls.length, spendWithinBudget: user.spend <= user.max_budget }).toEqual({ status: 402, calls: 0, spendWithinBudget: true })
})
