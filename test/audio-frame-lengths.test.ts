import { expect, test } from 'bun:test'
import { isAudioPart, partIsTimedMedia } from '../src/budget/part-media'

/**
 * Mutation guard. README (estimate, media): untyped inline data is audio when it starts as only audio does,
 * "MP3: … MPEG frames, AAC: ADTS frames" — a frame header and another of its stream where the first frame ends
 * (src/budget/audio-frames.ts). Missed, the recording is held as bytes at the text rate, where the provider bills
 * it by its length at the audio rate (and a model with no audio rate is not refused). The existing tests use only
 * unpadded MPEG frames and an ADTS frame whose length is a multiple of 8, so a frame length computed without the
 * padding slot, without the low 3 bits of ADTS's 13-bit length, or with Layer I's 4-byte slots dropped, passed.
 */
const frames = (header: number[], length: number) => {
  const bytes = Buffer.alloc(length + header.length)
  Buffer.from(header).copy(bytes)
  Buffer.from(header).copy(bytes, length)
  return bytes.toString('base64')
}
const file = (fields: Record<string, unknown>) => ({ type: 'file', file: fields })
const isAudio = (data: string) => {
  expect(isAudioPart(file({ file_data: data }))).toBe(true)
  expect(isAudioPart(file({ file_data: `data:application/octet-stream;base64,${data}` }))).toBe(true)
  expect(partIsTimedMedia(file({ file_data: data }))).toBe(true)
}

test('a padded MPEG-1 Layer III frame (128 kb/s, 44.1 kHz, padding bit set: 418 bytes) is audio', () => {
  isAudio(frames([0xff, 0xfb, 0x92, 0x64], 418))
})

test('an ADTS frame whose 13-bit length is not a multiple of 8 (261 bytes) is audio', () => {
  // ADTS, AAC LC, 44.1 kHz; frame length 261 = 0b0_0001_0000_0101: byte 4 = 0x20, byte 5's top 3 bits = 0b101.
  isAudio(frames([0xff, 0xf1, 0x50, 0x80, 0x20, 0xbf, 0xfc], 261))
})

test('an MPEG-1 Layer I frame (32 kb/s, 44.1 kHz: 8 four-byte slots, 32 bytes) is audio', () => {
  isAudio(frames([0xff, 0xff, 0x10, 0x00], 32))
})
