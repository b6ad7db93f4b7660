import { expect, test } from 'bun:test'
import { isAudioPart, partIsTimedMedia } from '../src/budget/part-media'

/**
 * README (estimate, media): untyped inline data is audio when it starts as only audio does, "MP3: … MPEG frames" (a
 * frame header, and another of its stream where the first frame ends: src/budget/audio-frames.ts). MPEG-2 and 2.5
 * Layer III (the 8–24 kHz MP3 of voice notes and phone recordings) has frames half as long as MPEG-1's
 * (72,000 × kbps / Hz, not 144,000): read at MPEG-1's length, the second header is missed and the recording is held
 * as bytes at the text rate, where the provider bills it by its length at the audio rate. Guards `mpegFrame`'s length.
 */
const frames = (header: number[], length: number) => {
  const bytes = Buffer.alloc(length + header.length)
  Buffer.from(header).copy(bytes)
  Buffer.from(header).copy(bytes, length)
  return bytes.toString('base64')
}
const file = (fields: Record<string, unknown>) => ({ type: 'file', file: fields })

test('MPEG-2 Layer III (22.05 kHz, 64 kb/s: 208-byte frames) and MPEG-2.5 Layer III (8 kHz, 8 kb/s: 72-byte frames) are audio', () => {
  const mpeg2 = frames([0xff, 0xf3, 0x80, 0xc4], 208)
  const mpeg25 = frames([0xff, 0xe3, 0x18, 0xc4], 72)
  for (const data of [mpeg2, mpeg25]) {
    expect(isAudioPart(file({ file_data: data }))).toBe(true)
    expect(isAudioPart(file({ file_data: `data:application/octet-stream;base64,${data}` }))).toBe(true)
    expect(partIsTimedMedia(file({ file_data: data }))).toBe(true)
  }
})
