import { expect, test } from 'bun:test'
import { estimateChat } from '../src/budget/estimate'
import { partIsTimedMedia } from '../src/budget/part-media'

/**
 * README (estimate, media): untyped inline data (bare base64, or a data URL of `application/octet-stream`) is read by
 * its first bytes, and "Matroska/WebM" is among the video files sniffed (`sniffedMedia`, src/budget/part-media.ts):
 * billed by its length, it is held as a file by reference (with hard bounds, the PDF bound: 100 × 3,000 tokens), not
 * by its few bytes. Guards the EBML magic (1A 45 DF A3): WebM is what browsers' MediaRecorder writes.
 */
const webm = Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01]), Buffer.from('B\x82\x84webm', 'latin1'), Buffer.alloc(200)]).toString('base64')
const file = (fields: Record<string, unknown>) => ({ type: 'file', file: fields })

test('an untyped WebM (bare base64, or octet-stream) is timed media', () => {
  expect(partIsTimedMedia(file({ file_data: webm }))).toBe(true)
  expect(partIsTimedMedia(file({ file_data: `data:application/octet-stream;base64,${webm}` }))).toBe(true)
  expect(partIsTimedMedia({ type: 'image_url', image_url: { url: `data:application/octet-stream;base64,${webm}` } })).toBe(true)
})

test('with hard bounds, an untyped inline WebM is held as a file by reference, not at its bytes', () => {
  const o = { defaultMaxOutputTokens: 10, mediaPartTokens: 1000, hardBounds: true, pdfPageTokens: 3000, pdfMaxPages: 100 }
  const { inputTokens } = estimateChat({ model: 'm', messages: [{ role: 'user', content: [file({ file_data: webm })] }] }, o)
  expect(inputTokens).toBeGreaterThanOrEqual(300_000)
})
