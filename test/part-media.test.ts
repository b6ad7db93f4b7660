import { expect, test } from 'bun:test'
import { isAudioPart, partFileByReference, partIsTimedMedia, partMayBeAudio } from '../src/budget/part-media'

const b64 = (bytes: number[] | string) => Buffer.from(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes)).toString('base64')
const image = (url: string, format?: string) => ({ type: 'image_url', image_url: format ? { url, format } : { url } })
const file = (fields: Record<string, unknown>) => ({ type: 'file', file: fields })

test('video or audio sent as an image or a file is timed media: by format, media type, extension or its first bytes', () => {
  expect(partIsTimedMedia(image('gs://talks/keynote', 'video/mp4'))).toBe(true)
  expect(partIsTimedMedia(image('https://cdn.example.com/keynote.MP4?sig=1'))).toBe(true)
  expect(partIsTimedMedia(image('https://cdn.example.com/song%2Emp3'))).toBe(true)
  expect(partIsTimedMedia(image(`data:audio/wav;base64,${b64('RIFF\0\0\0\0WAVE')}`))).toBe(true)
  expect(partIsTimedMedia(file({ file_data: `data:application/octet-stream;base64,${b64('\0\0\0\x18ftypisom')}` }))).toBe(true)
  expect(partIsTimedMedia(file({ file_data: b64('ID3\x04\0\0') }))).toBe(true)
  expect(partIsTimedMedia(file({ file_id: 'file-1', filename: 'call.ogg' }))).toBe(true)
  expect(partIsTimedMedia({ type: 'input_file', file_url: 'https://example.com/a.webm' })).toBe(true)

  expect(partIsTimedMedia(image('https://cdn.example.com/cat.png'))).toBe(false)
  expect(partIsTimedMedia(image(`data:image/jpeg;base64,${b64([0xff, 0xd8, 0xff, 0xe0])}`))).toBe(false)
  expect(partIsTimedMedia(image(`data:image/webp;base64,${b64('RIFF\0\0\0\0WEBP')}`))).toBe(false)
  expect(partIsTimedMedia(file({ file_data: `data:application/pdf;base64,${b64('%PDF-1.7')}`, filename: 'a.pdf' }))).toBe(false)
})

test('a data URL is read past parameters of any length, and file data past leading whitespace', () => {
  const name = `;name=${'keynote-2026-all-hands-'.repeat(10)}.bin`
  expect(partIsTimedMedia(file({ file_data: `data:video/mp4${name};base64,${b64('\0\0\0\0')}` }))).toBe(true)
  expect(partIsTimedMedia(image(`data:application/octet-stream${name};base64,${b64('\0\0\0\x18ftypisom')}`))).toBe(true)
  expect(partIsTimedMedia(file({ file_data: `\n data:application/octet-stream;base64,${b64('\0\0\0\x18ftypisom')}` }))).toBe(true)
  expect(partIsTimedMedia(image(`data:image/png${name};base64,${b64([0x89, 0x50, 0x4e, 0x47])}`))).toBe(false)
})

test('a part may be audio when its kind is the provider\'s to find: video, a file by reference, an image by URL, timed media', () => {
  expect(partMayBeAudio({ type: 'video_url', video_url: { url: 'https://youtu.be/x' } })).toBe(true)
  expect(partMayBeAudio(file({ file_id: 'file-1' }))).toBe(true)
  expect(partMayBeAudio(image('https://cdn.example.com/thing'))).toBe(true)
  expect(partMayBeAudio(file({ file_data: `data:video/mp4;base64,${b64('\0\0\0\0')}` }))).toBe(true)

  expect(partMayBeAudio({ type: 'text', text: 'https://cdn.example.com/talk.mp4' })).toBe(false)
  expect(partMayBeAudio(image(`data:image/png;base64,${b64('\x89PNG\r\n\x1a\n')}`))).toBe(false)
  expect(partMayBeAudio(file({ file_data: `data:application/pdf;base64,${b64('%PDF-1.7')}` }))).toBe(false)
  expect(partMayBeAudio(null)).toBe(false)
})

test('a part is audio input when its type, its format, media type or file name, or its first bytes say audio', () => {
  expect(isAudioPart({ type: 'input_audio', input_audio: { data: '', format: 'wav' } })).toBe(true)
  expect(isAudioPart(file({ file_data: `data:audio/wav;base64,${b64('\0\0\0\0')}` }))).toBe(true)
  expect(isAudioPart(file({ file_id: 'file-1', format: 'audio/mpeg' }))).toBe(true)
  expect(isAudioPart(file({ file_id: 'file-1', filename: 'call.mp3' }))).toBe(true)
  expect(isAudioPart(file({ file_data: b64('RIFF\0\0\0\0WAVEfmt ') }))).toBe(true)
  expect(isAudioPart(image(`data:application/octet-stream;base64,${b64('\0\0\0\x18ftypM4A ')}`))).toBe(true)
  expect(isAudioPart(image('gs://calls/rec-1', 'audio/flac'))).toBe(true)

  // What may be audio, or not: a bare URL, a file id, video, an Ogg or MP4 that could hold video.
  expect(isAudioPart(image('https://cdn.example.com/song.mp3'))).toBe(false)
  expect(isAudioPart(file({ file_id: 'file-1' }))).toBe(false)
  expect(isAudioPart(file({ file_data: `data:video/mp4;base64,${b64('\0\0\0\x18ftypisom')}` }))).toBe(false)
  expect(isAudioPart(file({ file_data: b64('OggS\0\x02') }))).toBe(false)
  expect(isAudioPart({ type: 'video_url', video_url: { url: 'https://youtu.be/x' } })).toBe(false)
})

test('a link in file_data is a file by reference, named video by its path', () => {
  expect(partMayBeAudio(file({ file_data: 'https://example.com/report.pdf' }))).toBe(true)
  expect(partMayBeAudio(file({ file_data: ' gs://bucket/download' }))).toBe(true)
  expect(partIsTimedMedia(file({ file_data: 'https://cdn.example.com/talk.mp4?sig=1' }))).toBe(true)
  expect(partIsTimedMedia(image('https://cdn.example.com/broadcast.mpegps'))).toBe(true)
  expect(partIsTimedMedia(file({ file_data: 'https://example.com/report.pdf' }))).toBe(false)
})

test("a file part without a file field is the file itself (Mistral's flat chunk), read by reference alike", () => {
  expect(partFileByReference({ type: 'file', file_id: '8b3c9a4e-5f1d-4c2b-9e7a-1d2f3a4b5c6d' })).toBe(true)
  expect(partFileByReference(file({ file_id: '8b3c9a4e-5f1d-4c2b-9e7a-1d2f3a4b5c6d' }))).toBe(true)
  expect(partIsTimedMedia({ type: 'file', file_id: 'f', filename: 'talk.mp4' })).toBe(true)
  expect(partFileByReference({ type: 'file', file_data: `data:application/pdf;base64,${b64('%PDF-1.7')}` })).toBe(false)
})

test('file_data is inline only as a data URL or base64: any other spelling of a link is a file by reference', () => {
  for (const link of ['https:/example.com/x.pdf', 'https:example.com/x.pdf', 'https:\\\\example.com\\x.pdf', '\u0001https://example.com/x.pdf', '//example.com/x.pdf', 'HTTP://example.com/x.pdf'])
    expect(partMayBeAudio(file({ file_data: link })), link).toBe(true)
  expect(partIsTimedMedia(file({ file_data: 'https:/cdn.example.com/talk.mp4' }))).toBe(true)
  const base64 = Buffer.alloc(3000, 7).toString('base64')
  for (const data of [base64, base64.replace(/(.{76})/g, '$1\r\n'), `data:text/plain;base64,${base64}`, `${base64.slice(0, 400)}:`, ' \n'])
    expect(partMayBeAudio(file({ file_data: data })), JSON.stringify(data.slice(0, 20))).toBe(false)
})

test('the first bytes are read past line breaks and other characters a decoder skips', () => {
  const mp4 = b64('\0\0\0\x18ftypisom')
  expect(partIsTimedMedia(file({ file_data: `data:;base64,${'\r\n'.repeat(8)}${mp4}` }))).toBe(true)
  expect(partIsTimedMedia(image(`data:;base64,${mp4.replace(/(.{2})/g, '$1 \t')}`))).toBe(true)
  expect(partIsTimedMedia(file({ file_data: `data:;base64,${'*'.repeat(100_000)}${mp4.replace(/(.)/g, '$1*')}` }))).toBe(true)
})

test("a data URL's declared type other than application/octet-stream wins over the first bytes; LiteLLM's format does not", () => {
  const utf16 = b64([0xff, 0xfe, 0x48, 0x00, 0x69, 0x00])
  expect(isAudioPart(file({ file_data: `data:text/plain;base64,${utf16}`, filename: 'notes.txt' }))).toBe(false)
  expect(partIsTimedMedia(file({ file_data: b64('\0\0\0\x18ftypisom'), format: 'text/plain' }))).toBe(true)
  expect(partIsTimedMedia(image(`data:;base64,${b64('\0\0\0\x18ftypisom')}`, 'image/png'))).toBe(true)
  expect(partIsTimedMedia(image(`data:image/heic;base64,${b64('\0\0\0\x18ftypisom')}`))).toBe(false)
  expect(partIsTimedMedia(file({ file_data: `data:application/pdf;base64,${b64('\0\0\0\x18ftypisom')}` }))).toBe(false)

  expect(isAudioPart(file({ file_data: `data:application/octet-stream;base64,${b64('ID3\x04\0\0')}` }))).toBe(true)
  expect(partIsTimedMedia(file({ file_data: `data:;base64,${b64('\0\0\0\x18ftypisom')}`, format: 'application/octet-stream' }))).toBe(true)
})

/** Two frames of a stream: `header` at the start and where the frame it heads ends, `length` bytes on. */
const frames = (header: number[], length: number) => {
  const bytes = Buffer.alloc(length + header.length)
  Buffer.from(header).copy(bytes)
  Buffer.from(header).copy(bytes, length)
  return bytes.toString('base64')
}
const MP3_HEADER = [0xff, 0xfb, 0x90, 0x64] // MPEG-1 Layer III, 128 kb/s, 44.1 kHz: 417-byte frames
const ADTS_HEADER = [0xff, 0xf1, 0x50, 0x80, 0x20, 0x1f, 0xfc] // ADTS, AAC LC, 44.1 kHz, a 256-byte frame

test('audio is sniffed by a valid header only: an ID3v2 version, MPEG or ADTS frames without reserved values', () => {
  expect(isAudioPart(file({ file_data: frames(MP3_HEADER, 417) }))).toBe(true)
  expect(isAudioPart(file({ file_data: frames(ADTS_HEADER, 256) }))).toBe(true)
  expect(isAudioPart(file({ file_data: frames([0xff, 0xfb, 0x00, 0x64], 1000) }))).toBe(true) // free format: the next header of its stream
  expect(isAudioPart(file({ file_data: b64('ID3\x03\0\0') }))).toBe(true)

  expect(isAudioPart(file({ file_data: b64([0xff, 0xfe, 0x4d, 0x00]) }))).toBe(false) // UTF-16LE "M": sample rate 11
  expect(isAudioPart(file({ file_data: b64([0xff, 0xfb, 0xf0, 0x00]) }))).toBe(false) // bitrate 1111
  expect(isAudioPart(file({ file_data: b64([0xff, 0xf9, 0x3c, 0x00]) }))).toBe(false) // ADTS, sample rate index 15
  expect(isAudioPart(file({ file_data: b64('ID3v2 tags sit') }))).toBe(false)
})

test('an MPEG or ADTS header is audio only with a second frame of its stream where the first ends: a UTF-16LE BOM is a header', () => {
  expect(isAudioPart(file({ file_data: frames(MP3_HEADER, 418) }))).toBe(false)
  expect(isAudioPart(file({ file_data: b64([...MP3_HEADER, ...Buffer.alloc(300)]) }))).toBe(false)
  expect(isAudioPart(file({ file_data: frames(ADTS_HEADER, 255) }))).toBe(false)
  expect(isAudioPart(file({ file_data: frames([0xff, 0xfb, 0x94, 0x64], 417) }))).toBe(false) // 48 kHz after 44.1
  const utf16 = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]).toString('base64')
  expect(isAudioPart(file({ file_data: utf16('Date,Total\r\n'.repeat(200)), format: 'text/plain' }))).toBe(false)
  expect(isAudioPart(file({ file_data: `data:application/octet-stream;base64,${utf16('\nship Friday\r\n'.repeat(200))}` }))).toBe(false)
})

test('ISO-BMFF images (HEIC, HEIF, AVIF) are not video, untyped too', () => {
  for (const brand of ['heic', 'heix', 'mif1', 'msf1', 'avif', 'avis'])
    expect(partIsTimedMedia(file({ file_data: b64(`\0\0\0\x18ftyp${brand}`) }))).toBe(false)
  expect(partIsTimedMedia(file({ file_data: b64('\0\0\0\x18ftypqt  ') }))).toBe(true)
})

test('an ISO-BMFF file of an image major brand is video when any compatible brand is a video brand', () => {
  const box = (brands: string) => b64(`${String.fromCharCode(0, 0, 0, 12 + brands.length)}ftyp${brands.slice(0, 4)}\0\0\0\0${brands.slice(4)}`)
  for (const brands of ['mif1isommp42', 'avifmif1miafiso6', 'heicmif1heicavc1', 'heicmif1qt  ', 'mif1M4V ', 'avif3gp5'])
    expect(partIsTimedMedia(file({ file_data: box(brands) })), brands).toBe(true)
  for (const brands of ['heicmif1heic', 'avifavifmif1miafMA1B', 'mif1mif1MiHEmiafMiHBheic'])
    expect(partIsTimedMedia(file({ file_data: box(brands) })), brands).toBe(false)
  expect(isAudioPart(file({ file_data: box('M4A M4A mp42isom') }))).toBe(true)
})
