import { expect, test } from 'bun:test'
import { estimateChat } from '../src/budget/estimate'

/**
 * README/estimate.ts (`filesNamedInText`): Qwen-Long and Qwen-Doc read `fileid://…` (several comma-separated) in a
 * message's text as uploaded files and bill each file's whole content; "Each is a file by reference, counted wherever a
 * message's text names it." The second file named in one message must add at least the media bound on top of the
 * first (held at the PDF bound with hard bounds): guards the loop over every `fileid://` in a text.
 */
const o = { defaultMaxOutputTokens: 10, mediaPartTokens: 5000, hardBounds: true, pdfPageTokens: 3000, pdfMaxPages: 100, readsFileIdUrls: true }
const held = (system: string) =>
  estimateChat({ model: 'qwen-long', messages: [{ role: 'system', content: system }, { role: 'user', content: 'summarise both' }] }, o).inputTokens

test('two fileid:// in one system message hold two files, three hold three', () => {
  const one = held('fileid://file-fe-aaaaaaaaaaaaaaaaaaaaaaaa')
  const two = held('fileid://file-fe-aaaaaaaaaaaaaaaaaaaaaaaa,fileid://file-fe-bbbbbbbbbbbbbbbbbbbbbbbb')
  const three = held('fileid://file-fe-aaaaaaaaaaaaaaaaaaaaaaaa,fileid://file-fe-bbbbbbbbbbbbbbbbbbbbbbbb,fileid://file-fe-cccccccccccccccccccccccc')
  expect(one).toBeGreaterThanOrEqual(300_000)
  expect(two - one).toBeGreaterThanOrEqual(5000)
  expect(three - two).toBeGreaterThanOrEqual(5000)
})
