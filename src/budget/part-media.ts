/**
 * What a content part carries, as the estimate and the billed features read it: the file of a chat `file` or a
 * Responses `input_file` part, the image an image part names, whether a file is read by reference, and whether a
 * part is timed media (video or audio) whatever type it was sent as.
 *
 * Timed media is billed by its length, which neither a URL nor its bytes bound (a still frame held for an hour
 * compresses to a few kilobytes): LiteLLM and the one-api family send Gemini a video or a recording given as an
 * `image_url` (its `format`, or the type its URL's extension says) or as a `file` whose data is video or audio.
 */

import { startsWithAudioFrames, TWO_FRAMES_BOUND } from './audio-frames'

/**
 * Parts whose data a provider reads as media or a file, wherever they stand (a message's content, a tool's output,
 * a stored context): the estimate counts them by their bytes, never less than the media bound, and a model given
 * them may read them. `computer_screenshot` is the image a Responses `computer_call_output` returns to the model;
 * `video` is DashScope's video sent as a list of its frames' URLs (`{type: "video", video: [...]}`).
 */
const MEDIA_PART_TYPES = new Set([
  'image_url', 'image', 'input_audio', 'audio', 'audio_url', 'input_image', 'video_url', 'input_video', 'video', 'file', 'document', 'document_url', 'input_file', 'computer_screenshot',
])

export const isMediaPart = (part: unknown): boolean => {
  const type = (part as { type?: unknown } | null)?.type
  return typeof type === 'string' && MEDIA_PART_TYPES.has(type)
}

/**
 * Inline data, bare base64 or a data URL: its base64 and the media type the URL declares. A data URL's parameters
 * (`;name=…`, `;codecs=…`) have no bound, so its comma is searched for, however far.
 */
export function inlineBase64(data: string): { base64: string; mediaType?: string } {
  const comma = /^data:/i.test(data) ? data.indexOf(',') : -1
  if (comma === -1) return { base64: data }
  const semicolon = data.indexOf(';')
  return { base64: data.slice(comma + 1), mediaType: data.slice(5, semicolon !== -1 && semicolon < comma ? semicolon : comma) }
}

/**
 * The file a chat `file` part or a Responses `input_file` part carries: the fields its data and name are in. A `file`
 * part without a `file` field is the file itself: Mistral's flat chunk, `{type: "file", file_id}`.
 */
export function partFile(part: Record<string, unknown>): Record<string, unknown> | null {
  const file = part.type === 'input_file' ? part : part.type === 'file' ? (part.file === undefined ? part : part.file) : null
  return file != null && typeof file === 'object' ? (file as Record<string, unknown>) : null
}

/**
 * A file's `file_data` when it is data (a data URL, or base64), not a link: OpenRouter takes "direct URLs or
 * base64-encoded data URLs" there (`file_data: 'https://bitcoin.org/bitcoin.pdf'`), and a link is a file by
 * reference. Anything else is taken for a link, however it is spelled: URL parsers read `https:/host/x.pdf`,
 * `https:host/x.pdf`, `https:\\host\x.pdf` and a leading control character as `https://host/x.pdf`, and no decoder
 * reads any of them as data.
 */
export function inlineFileData(file: Record<string, unknown>): string | null {
  const data = file.file_data
  return typeof data === 'string' && data !== '' && (isDataUrl(data) || isBase64(data)) ? data : null
}

/** Up to 256 characters of base64's alphabet (URL-safe and padding too), whitespace between them aside. */
const BASE64_HEAD = /(?:\s*[A-Za-z0-9+/=_-]){0,256}/y
const NOT_SPACE = /\S/g

/**
 * Whether data is base64: characters of its alphabet and whitespace, as far as its first 256 such characters (or
 * its end). A link shows itself before that, by its scheme's `:` (a scheme of 256 characters is fetched by no one),
 * and reading no further keeps a part of megabytes from being walked whole on every look at it.
 */
function isBase64(data: string): boolean {
  BASE64_HEAD.lastIndex = 0
  BASE64_HEAD.test(data)
  NOT_SPACE.lastIndex = BASE64_HEAD.lastIndex
  const next = NOT_SPACE.exec(data)
  // Past the head, only whitespace, or the head stopped at its bound on a character of the alphabet.
  return next === null || /[A-Za-z0-9+/=_-]/.test(next[0])
}

/**
 * The image a chat `image_url` part (`image_url: {url, format}`, or the URL alone) or a Responses `input_image` part
 * names: its URL, and the media type LiteLLM takes in `format`. LiteLLM documents PDFs sent this way, by URL or
 * data URL, and passes them to Anthropic, Bedrock and Vertex as documents, billed per page.
 */
export function partImage(part: Record<string, unknown>): { url: string; format?: unknown } | null {
  const image = part.type === 'image_url' || part.type === 'input_image' ? part.image_url : null
  if (typeof image === 'string') return { url: image }
  const { url, format } = (image ?? {}) as { url?: unknown; format?: unknown }
  return typeof url === 'string' ? { url, format } : null
}

export const isDataUrl = (url: string) => /^\s*data:/i.test(url)

/** A URL's path, its query and fragment aside, percent escapes decoded where they decode. */
export function urlPath(url: string): string {
  const path = url.split(/[?#]/, 1)[0]!
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

/**
 * A chat `file` part or a Responses `input_file` part the provider may read by reference: one that names a file
 * id or URL, or has no data (none, an empty string — a server that tests `file_data` for truth, as Python
 * servers do, reads the file by its id then — or a link in `file_data`). Which of an id and inline data a
 * server reads when a part has both is its own choice: held by reference, the part counts its inline bytes
 * too, and with hard bounds the request's page maximum, which bounds an inline PDF's pages.
 */
export function partFileByReference(part: Record<string, unknown>): boolean {
  const file = partFile(part)
  if (file === null) return false
  return file.file_id != null || file.file_url != null || inlineFileData(file) === null
}

const TIMED_MEDIA_TYPE = /^\s*(video|audio)\//i
// LiteLLM's extensions too: `.mpegps` it sends Gemini as `video/mpegps`, `.mpga` as `audio/mpeg`.
const TIMED_MEDIA_EXTENSION = /\.(mp4|m4v|mov|webm|mkv|avi|wmv|flv|mpe?g|mpegps|3gp|mp3|mpga|m4a|wav|ogg|oga|opus|flac|aac|aiff?|amr|weba)\s*$/i
const AUDIO_TYPE = /^\s*audio\//i
const AUDIO_EXTENSION = /\.(mp3|mpga|m4a|wav|ogg|oga|opus|flac|aac|aiff?|amr|weba)\s*$/i

/** Whether a media type (`video/mp4`) or a file name or URL path (`talk.mp4`) names video or audio. */
const namesTimedMedia = (label: unknown): boolean => typeof label === 'string' && (TIMED_MEDIA_TYPE.test(label) || TIMED_MEDIA_EXTENSION.test(label))
/** Whether a media type (`audio/wav`) or a file name (`call.wav`) names audio. */
const namesAudio = (label: unknown): boolean => typeof label === 'string' && (AUDIO_TYPE.test(label) || AUDIO_EXTENSION.test(label))

const ascii = (bytes: Buffer, at: number, text: string) => bytes.toString('latin1', at, at + text.length) === text

const BASE64_RUN = /^[A-Za-z0-9+/=_-]*$/
const BASE64_CHARACTER = /[A-Za-z0-9+/_-]/g
const NOT_BASE64_CHARACTER = /[^A-Za-z0-9+/_-]/

/** How many characters of base64 hold `bytes` bytes. */
const base64Length = (bytes: number) => Math.ceil(bytes / 3) * 4

/**
 * The first bytes of base64: its first `characters` characters of the alphabet, decoded. Decoders skip line breaks
 * and other characters outside it (Go's, Python's, Node's), so a provider still finds a video behind `\r\n` after a
 * data URL's comma; they are passed over here too, each run of them in one native search, however long.
 */
export function decodedHead(base64: string, characters: number): Buffer {
  const start = base64.slice(0, characters)
  if (BASE64_RUN.test(start)) return Buffer.from(start, 'base64')
  let head = ''
  for (let at = 0; head.length < characters; ) {
    BASE64_CHARACTER.lastIndex = at
    if (!BASE64_CHARACTER.test(base64)) break
    const from = BASE64_CHARACTER.lastIndex - 1
    const run = base64.slice(from, from + characters - head.length)
    const end = run.search(NOT_BASE64_CHARACTER)
    head += end === -1 ? run : run.slice(0, end)
    at = from + (end === -1 ? run.length : end)
  }
  return Buffer.from(head, 'base64')
}

/** ISO-BMFF brands of still images and image sequences (HEIF, HEIC, AVIF): an `ftyp` box, as an MP4 has, but no video. */
const IMAGE_BRANDS: ReadonlySet<string> = new Set(['heic', 'heix', 'mif1', 'msf1', 'avif', 'avis'])
/** ISO-BMFF brands of files with video: MP4 (`mp41`, `mp42`…), the ISO base brands, H.264, QuickTime, M4V, 3GPP, DASH. */
const VIDEO_BRAND = /^(mp4|iso[m2-9]|avc1|qt {2}|M4V|3g|dash|mmp4|MSNV|f4v )/
/** The most of an `ftyp` box read for its brands: as much as a sniffer reads of a file (Go's, WHATWG's: 512 bytes). */
const FTYP_BOUND = 512

/**
 * What an ISO-BMFF file (an `ftyp` box at byte 4) holds, by the brands of its `ftyp` box: `audio` for an M4A, no
 * media for an image (HEIC, AVIF) only when none of its brands, major or compatible, is a video brand, `timed` for
 * anything else. The major brand is only a label: Go's `DetectContentType` (which the one-api family types untyped
 * data with) calls a file `video/mp4` when any brand starts `mp4`, and ffmpeg reads what the boxes hold.
 */
function isoMediaKind(base64: string, size: number): 'audio' | 'timed' | null {
  const box = decodedHead(base64, base64Length(size >= 16 && size <= FTYP_BOUND ? size : FTYP_BOUND))
  const major = box.toString('latin1', 8, 12)
  if (major === 'M4A ') return 'audio'
  if (!IMAGE_BRANDS.has(major)) return 'timed'
  // The compatible brands, past the minor version at byte 12.
  for (let at = 16; at + 4 <= box.length; at += 4) if (VIDEO_BRAND.test(box.toString('latin1', at, at + 4))) return 'timed'
  return null
}

/**
 * What inline data starts as: `audio` for a file only audio comes in (WAV, FLAC, AIFF, AMR, MP3: an ID3v2 tag or
 * MPEG frames, AAC: ADTS frames, an MP4 of brand `M4A `), `timed` for one that holds video or either (MP4/MOV/3GP:
 * an `ftyp` box not of image brands only, Matroska/WebM, AVI, Ogg, another IFF). Only its first bytes are decoded:
 * 12, an `ftyp` box's, or two audio frames'.
 */
function sniffedMedia(base64: string): 'audio' | 'timed' | null {
  const head = decodedHead(base64, 16)
  if (head.length < 4) return null
  if (ascii(head, 4, 'ftyp')) return isoMediaKind(base64, head.readUInt32BE(0))
  if (head.readUInt32BE(0) === 0x1a45dfa3 || ascii(head, 0, 'OggS')) return 'timed'
  if (ascii(head, 0, 'RIFF')) return ascii(head, 8, 'WAVE') ? 'audio' : ascii(head, 8, 'AVI ') ? 'timed' : null
  if (ascii(head, 0, 'FORM')) return ascii(head, 8, 'AIFF') || ascii(head, 8, 'AIFC') ? 'audio' : 'timed'
  if (ascii(head, 0, 'fLaC') || ascii(head, 0, '#!AMR')) return 'audio'
  if (ascii(head, 0, 'ID3')) return head[3]! >= 2 && head[3]! <= 4 ? 'audio' : null
  if (head[0] !== 0xff) return null
  return startsWithAudioFrames(decodedHead(base64, base64Length(TWO_FRAMES_BOUND))) ? 'audio' : null
}

/**
 * Whether the type a data URL declares leaves what its data is to its first bytes: none, or
 * `application/octet-stream`. Any other is what every provider is told and reads it as, whatever the bytes look
 * like: a UTF-16 text file starts `FF FE` as an MPEG frame does, a HEIC photo with an `ftyp` box as an MP4 does. A
 * part's LiteLLM `format` does not spare the sniff: LiteLLM alone reads it, and the one-api family types data the
 * URL leaves untyped by its bytes; what `format` says counts beside what the bytes say, the worse of the two.
 */
function leftToBytes(mediaType: string | undefined): boolean {
  if (mediaType === undefined) return true
  const type = mediaType.trim().toLowerCase()
  return type === '' || type === 'application/octet-stream'
}

/** Whether inline data (bare base64 or a data URL) is video or audio: its data URL says so, or, untyped, it starts as such a file does. */
function inlineTimedMedia(data: string): boolean {
  const { base64, mediaType } = inlineBase64(data)
  return namesTimedMedia(mediaType) || (leftToBytes(mediaType) && sniffedMedia(base64) !== null)
}

/** Whether inline data (bare base64 or a data URL) is audio: its data URL says so, or, untyped, it starts as only an audio file does. */
function inlineAudio(data: string): boolean {
  const { base64, mediaType } = inlineBase64(data)
  return namesAudio(mediaType) || (leftToBytes(mediaType) && sniffedMedia(base64) === 'audio')
}

/**
 * Whether a part sent as an image or a file is video or audio: its `format` or media type says so, its URL's
 * path (a link in `file_data` too) or its file name ends as one does, or its inline data is one.
 */
export function partIsTimedMedia(part: Record<string, unknown>): boolean {
  const image = partImage(part)
  if (image) return namesTimedMedia(image.format) || (isDataUrl(image.url) ? inlineTimedMedia(image.url.trimStart()) : namesTimedMedia(urlPath(image.url)))
  const file = partFile(part)
  if (file === null) return false
  const { filename, format, file_url: url } = file
  const data = inlineFileData(file)
  const link = data === null ? file.file_data : null
  return namesTimedMedia(format) || namesTimedMedia(filename) || urlNamesTimedMedia(url) || urlNamesTimedMedia(link) || (data !== null && inlineTimedMedia(data.trimStart()))
}
const urlNamesTimedMedia = (url: unknown): boolean => typeof url === 'string' && namesTimedMedia(urlPath(url))

/**
 * Whether a part sent as an image or a file says it is audio: its `format`, its data URL's media type or its file
 * name, or its inline data starts as only audio does. A URL alone does not say (what the provider finds there does).
 */
function partDeclaresAudio(part: Record<string, unknown>): boolean {
  const image = partImage(part)
  if (image) return namesAudio(image.format) || (isDataUrl(image.url) && inlineAudio(image.url.trimStart()))
  const file = partFile(part)
  if (file === null) return false
  const data = inlineFileData(file)
  return namesAudio(file.format) || namesAudio(file.filename) || (data !== null && inlineAudio(data.trimStart()))
}

/** Parts whose type says they are audio: the provider bills them at its audio input rate. */
const AUDIO_PART_TYPES: ReadonlySet<string> = new Set(['input_audio', 'audio_url'])
/** Parts whose type says they are video: the provider may bill their sound track at its audio input rate. */
const VIDEO_PART_TYPES: ReadonlySet<string> = new Set(['video_url', 'input_video'])

/**
 * Whether a part is audio input, billed at the provider's audio rate: its type says so (`input_audio`, `audio_url`),
 * or, sent as an image or a file, it says it is audio (`partDeclaresAudio`).
 */
export function isAudioPart(part: unknown): boolean {
  if (part == null || typeof part !== 'object') return false
  const p = part as Record<string, unknown>
  return AUDIO_PART_TYPES.has(p.type as string) || partDeclaresAudio(p)
}

/**
 * Whether a part may be billed as audio input though its type does not say it is audio: a video (its sound track),
 * a file by reference, an image by URL (what the provider finds there decides its kind), and a part sent as an
 * image or a file that is video or audio (`partIsTimedMedia`).
 */
export function partMayBeAudio(part: unknown): boolean {
  if (part == null || typeof part !== 'object') return false
  const p = part as Record<string, unknown>
  if (VIDEO_PART_TYPES.has(p.type as string) || partFileByReference(p)) return true
  const image = partImage(p)
  return (image !== null && !isDataUrl(image.url)) || partIsTimedMedia(p)
}
