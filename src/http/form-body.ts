import { badRequest } from './errors'
import { mediaTypeParameters } from './media-type-parameters'

type FormEntry = string | File
type FormValue = FormEntry | FormEntry[]

/**
 * More parts than any real form holds: a transcription's has its file and about a dozen fields. A part costs far more
 * parsed than its text: 400,000 empty fields fit in 22.7 MB and took the gateway from ~75 to ~335 MB and its request
 * thread for 2 s, as parsed form, map and object.
 */
export const MAX_FORM_PARTS = 1_000

export const isMultipart = (message: { headers: Headers }) =>
  /^multipart\/form-data\s*(;|$)/i.test(message.headers.get('content-type') ?? '')

/** RFC 2046 §5.1.1: a boundary's characters, 1 to 70 of them, not ending in a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/

/**
 * The boundary a multipart content type names, or a 400 when it names none, more than one, or one that readers may
 * take differently: its parts are counted with it, and must be the parts Bun's `formData()` parses. Bun reads the
 * first of two boundaries and a quoted one with its escapes left in, and reads past text a strict parser refuses
 * (`a="; boundary=zzz"; boundary=b` was counted with `zzz"` and parsed with `b`: 400,000 fields counted none).
 */
function boundaryOf(contentType: string): string {
  const boundaries = mediaTypeParameters(contentType)?.filter(({ name }) => name === 'boundary')
  const boundary = boundaries?.length === 1 ? boundaries[0]!.value : null
  if (boundary === null || !BOUNDARY.test(boundary)) {
    throw badRequest('Invalid multipart form: its Content-Type must name exactly one boundary, a token or quoted string of at most 70 characters (RFC 2046).', 'invalid_json')
  }
  return boundary
}

/**
 * Whether a multipart body holds more than `max` parts, counted without parsing it: each part follows its delimiter
 * (`--` and the boundary), which no part's content may hold (RFC 2046 §5.1.1), and the closing delimiter is one more.
 */
function partsExceed(bytes: Uint8Array, boundary: string, max: number): boolean {
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const delimiter = Buffer.from(`--${boundary}`)
  let delimiters = 0
  for (let at = body.indexOf(delimiter); at !== -1; at = body.indexOf(delimiter, at + delimiter.length)) {
    if (++delimiters > max + 1) return true
  }
  return false
}

/**
 * The form exactly as sent: a repeated name becomes an array, and nothing else changes. Elysia's own
 * form parser also JSON-decodes values that start with `{` or `[` and nests dotted names, which would
 * alter a prompt on its way upstream. Another content type parses to nothing (the route says why).
 * A form of more than MAX_FORM_PARTS parts, or whose boundary is missing or ambiguous, is refused 400 before it is parsed.
 */
export async function formAsSent(message: Pick<Request, 'headers' | 'arrayBuffer'>): Promise<Record<string, FormValue>> {
  if (!isMultipart(message)) return {}
  return formOf(new Uint8Array(await message.arrayBuffer()), message.headers)
}

/** `formAsSent` for a body already read, `bytes` sent with `headers`. */
export async function formOf(bytes: Uint8Array, headers: Headers): Promise<Record<string, FormValue>> {
  if (!isMultipart({ headers })) return {}
  const contentType = headers.get('content-type')!
  if (partsExceed(bytes, boundaryOf(contentType), MAX_FORM_PARTS)) {
    throw badRequest(`Request body holds more than ${MAX_FORM_PARTS} form fields.`, 'invalid_json')
  }
  const grouped = new Map<string, FormEntry[]>()
  for (const [name, value] of await new Response(bytes, { headers: { 'content-type': contentType } }).formData()) {
    const values = grouped.get(name)
    if (values) values.push(value)
    else grouped.set(name, [value])
  }
  return Object.fromEntries([...grouped].map(([name, values]) => [name, values.length === 1 ? values[0]! : values]))
}
