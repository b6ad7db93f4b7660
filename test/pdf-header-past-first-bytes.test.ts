import { expect, test } from 'bun:test'
import { estimateChat } from '../src/budget/estimate'
import { blankPdf } from './support/pdf'

/**
 * SPEC/README (estimate, PDFs): an inline file is a PDF when declared one or when it starts as one does, and
 * "PDF readers accept the header anywhere in the first kilobyte" (src/budget/estimate.ts `inlinePdf`): such a file,
 * sent untyped, is still billed per page by the provider, so it must be held at its pages × the per-page bound, not
 * at its bytes. Guards the 1,368-character window of `decodedHead` in `inlinePdf`.
 */
const o = { defaultMaxOutputTokens: 10, mediaPartTokens: 1000, pdfPageTokens: 3000, pdfMaxPages: 100 }
const pages = 40

test('an untyped inline PDF whose %PDF- header follows 600 bytes of junk counts its pages', () => {
  const pdf = Buffer.concat([Buffer.alloc(600, 0x20), blankPdf(pages)])
  const part = { type: 'file', file: { file_data: pdf.toString('base64') } }
  const { inputTokens } = estimateChat({ model: 'm', messages: [{ role: 'user', content: [part] }] }, o)
  expect(pdf.length).toBeLessThan(pages * 3000)
  expect(inputTokens).toBeGreaterThanOrEqual(pages * 3000)
})
