import { expect, test } from 'bun:test'
import { estimateChat } from '../src/budget/estimate'
import { partFileByReference } from '../src/budget/part-media'

/**
 * src/budget/part-media.ts (`partFileByReference`): a file part "that names a file id or URL" is read by reference;
 * "Which of an id and inline data a server reads when a part has both is its own choice: held by reference". A part
 * with a few bytes of inline `file_data` and a `file_url` (OpenRouter, LiteLLM) may be billed as the linked file (a
 * 100-page PDF): with hard bounds it is held at the file-by-reference bound, not at its inline bytes.
 */
const part = { type: 'file', file: { file_data: 'data:text/plain;base64,aGk=', file_url: 'https://example.com/annual-report.pdf' } }

test('a file part with a file_url beside tiny inline data is read by reference, and held so with hard bounds', () => {
  expect(partFileByReference(part)).toBe(true)
  const o = { defaultMaxOutputTokens: 10, mediaPartTokens: 1000, hardBounds: true, pdfPageTokens: 3000, pdfMaxPages: 100 }
  expect(estimateChat({ model: 'm', messages: [{ role: 'user', content: [part] }] }, o).inputTokens).toBeGreaterThanOrEqual(300_000)
})
