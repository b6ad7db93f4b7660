/**
 * MPEG audio (MP3, MP2) and ADTS (AAC) streams told by their frames: a frame header, and the next frame's header
 * where the first one says its frame ends, as decoders find a stream. A header alone is three bytes any data may
 * start with: a UTF-16LE text's byte-order mark `FF FE` has the frame sync, and its first character passes for a
 * bitrate and a sample rate three times in four.
 */

/** A frame header: the bits every frame of its stream repeats (version, layer, sample rate), and its frame's length in bytes (0 when free-format). */
interface Frame {
  stream: number
  length: number
}

/** Kilobits a second by bitrate index: MPEG-1 Layer I, II, III; MPEG-2 and 2.5 Layer I, then II and III. */
const MPEG1_BITRATES = [
  [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
]
const MPEG2_BITRATES = [
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
]
/** Sample rates by version bits (MPEG-2.5, reserved, MPEG-2, MPEG-1) and sample rate index. */
const SAMPLE_RATES = [[11025, 12000, 8000], [], [22050, 24000, 16000], [44100, 48000, 32000]]

/**
 * An MPEG audio frame header at `at`: 11 bits of frame sync (a JPEG's FF D8 has only 8), then a version, a layer, a
 * bitrate and a sample rate none of which is the reserved value.
 */
function mpegFrame(bytes: Buffer, at: number): Frame | null {
  if (at + 4 > bytes.length) return null
  const [sync, flags, rates] = [bytes[at]!, bytes[at + 1]!, bytes[at + 2]!]
  const [version, layer, bitrate, sampleRate] = [(flags >> 3) & 3, (flags >> 1) & 3, rates >> 4, (rates >> 2) & 3]
  if (sync !== 0xff || (flags & 0xe0) !== 0xe0 || version === 1 || layer === 0 || bitrate === 15 || sampleRate === 3) return null
  const kbps = (version === 3 ? MPEG1_BITRATES : MPEG2_BITRATES)[3 - layer]![bitrate]!
  const hz = SAMPLE_RATES[version]![sampleRate]!
  const padding = (rates >> 1) & 1
  const length =
    kbps === 0 ? 0 : layer === 3 ? (Math.floor((12_000 * kbps) / hz) + padding) * 4 : Math.floor(((layer === 1 && version !== 3 ? 72_000 : 144_000) * kbps) / hz) + padding
  return { stream: ((flags & 0xfe) << 8) | (rates & 0x0c), length }
}

/** An ADTS header at `at`: 12 bits of sync, layer 00, a sample rate index below 13, and a frame length that holds the header. */
function adtsFrame(bytes: Buffer, at: number): Frame | null {
  if (at + 7 > bytes.length || bytes[at] !== 0xff || (bytes[at + 1]! & 0xf6) !== 0xf0 || ((bytes[at + 2]! >> 2) & 0x0f) >= 13) return null
  const length = ((bytes[at + 3]! & 0x03) << 11) | (bytes[at + 4]! << 3) | (bytes[at + 5]! >> 5)
  return length < 7 ? null : { stream: 0x10000 | ((bytes[at + 1]! & 0xfe) << 8) | (bytes[at + 2]! & 0xfc), length }
}

const frameAt = (bytes: Buffer, at: number): Frame | null => ((bytes[at + 1]! & 0x06) === 0 ? adtsFrame(bytes, at) : mpegFrame(bytes, at))

/** The most bytes two frames' headers can be apart, and a header's: ADTS's 13-bit frame length. */
export const TWO_FRAMES_BOUND = 8_191 + 7

/**
 * Whether bytes start as an MPEG audio or ADTS stream: a frame header, and one of the same stream where the first
 * frame ends (free-format MPEG states no length: the next header of its stream within the bound). Data that ends
 * before a second frame is a few hundredths of a second of sound at most.
 */
export function startsWithAudioFrames(bytes: Buffer): boolean {
  const first = bytes.length >= 4 ? frameAt(bytes, 0) : null
  if (first === null) return false
  if (first.length > 0) return frameAt(bytes, first.length)?.stream === first.stream
  for (let at = bytes.indexOf(0xff, 4); at !== -1; at = bytes.indexOf(0xff, at + 1)) {
    const next = frameAt(bytes, at)
    if (next?.stream === first.stream && next.length === 0) return true
  }
  return false
}
