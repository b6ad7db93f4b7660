import type { ProviderConfig } from '../config/schema'
import { badGateway, clientClosedRequest, GatewayError, gatewayStopping, gatewayTimeout, providerRefusedCredentials, upstreamRateLimited, upstreamRejected } from '../http/errors'
import { answerCarriesOutput } from '../metering/answer-output'
import { CHARACTER_OF_NAME, NAMES_OF_CHARACTER } from './html-named-references'
import { namesOverload } from './overloaded'
import { clientBetaFlags } from './anthropic-beta'
import { retryAfterHeaders } from './retry-after'

/**
 * Shorter values are left in the text: no credential is that short, and cutting every "1" or "true" out
 * of a provider's message would leave nothing readable.
 */
const MIN_SECRET_LENGTH = 8

/**
 * What we send a provider that might be a credential: its api key, every value of its configured headers
 * (Azure's `api-key`, a proxy's token), whole and word by word (`Bearer <token>`, `Basic <b64>`), and the
 * user and password of its `base_url`; longest first so that a secret containing another is cut whole.
 * Worked out once per provider, as `credentialsOf` is; `redact` finds each in any spelling (`spellingPattern`).
 */
export function secretsOf(provider: ProviderConfig): string[] {
  let secrets = secretsByProvider.get(provider)
  if (!secrets) secretsByProvider.set(provider, (secrets = listSecrets(provider)))
  return secrets
}

const secretsByProvider = new WeakMap<ProviderConfig, string[]>()

function listSecrets(provider: ProviderConfig): string[] {
  const url = urlCredentials(provider.base_url)
  return secretCandidates([provider.api_key, ...Object.values(provider.headers)], url ? [url.user, url.password, url.basic] : [])
}

/** The names of headers that carry a credential: `Authorization`, `x-api-key`, Azure's `api-key`, a proxy's `X-Proxy-Token`. */
const CREDENTIAL_HEADER = /auth|key|token|secret|passw|cookie|credential/i

/**
 * The credentials among `secretsOf`: the api key, the values of the configured headers named as credentials,
 * and the password of the `base_url` (as written, and as the `Basic` token fetch sends, which also counts for a
 * user name that looks issued) when it is sent at all.
 * These are what an answer is refused for quoting (`refuseCredentialEcho`), so they leave out what a true answer
 * may well say: the value of `X-Title` or `HTTP-Referer` (OpenRouter's app name and site), an `anthropic-beta`
 * flag, the base URL's user name, and any value that does not look issued (`looksIssued`), with the header values
 * it is a word of. Cutting such a value out of an error's text costs a word; refusing an answer for it would
 * cost the client its answer.
 */
export function credentialsOf(provider: ProviderConfig): string[] {
  let credentials = credentialsByProvider.get(provider)
  if (!credentials) credentialsByProvider.set(provider, (credentials = listCredentials(provider)))
  return credentials
}

/** Worked out once per provider: every answer is searched for them, and a provider's settings do not change while it serves. */
const credentialsByProvider = new WeakMap<ProviderConfig, string[]>()

function listCredentials(provider: ProviderConfig): string[] {
  const headers = Object.entries(provider.headers).flatMap(([name, value]) => (CREDENTIAL_HEADER.test(name) ? [value] : []))
  const values = [provider.api_key, ...headers].filter((value) => value.split(/\s+/).some(looksIssued))
  const credentials = secretCandidates(values, basicAuthCredentials(provider)).filter(looksIssued)
  // Each also as a JSON encoder that escapes slashes (PHP's) writes it: found by the same plain search, no second look.
  return [...credentials, ...credentials.filter((c) => c.includes('/')).map((c) => c.replaceAll('/', '\\/'))]
}

/**
 * Whether a value an answer quotes may be a credential: whether it looks issued. A key a server issues is random:
 * 20 characters or more (every vendor's is), or at least 12 with letters and digits mixed through it, a digit
 * between letters or a letter between digits. What a person writes for a placeholder or a password is words and
 * numbers side by side (LM Studio's `lm-studio`, vLLM's documented `token-abc123`, `admin2024`): a true answer may
 * say it, and a model copying documentation does. Such values are still cut from error text (`secretsOf`).
 */
const looksIssued = (value: string): boolean =>
  value.length >= 20 || (value.length >= 12 && /[A-Za-z]\d+[A-Za-z]|\d[A-Za-z]+\d/.test(value))

/**
 * The password of the `base_url` and the `Basic` token fetch makes of it, when it is sent: fetch sends that token
 * only when the call sets no `Authorization` header of its own (an `openai` provider's api key is sent as
 * `Authorization: Bearer …`, which replaces it). The token counts when the user or the password looks issued: a
 * proxy may take its token as the user name (`https://<token>@proxy/v1`, `<token>:X@…`). The user name alone is
 * not listed (a true answer may say a login), nor a password that does not look issued (`admin:admin` makes none).
 */
function basicAuthCredentials(provider: ProviderConfig): string[] {
  const url = urlCredentials(provider.base_url)
  if (!url || !(looksIssued(url.user) || looksIssued(url.password))) return []
  const overridden = Object.keys(authHeaders(provider)).some((name) => name.toLowerCase() === 'authorization')
  if (overridden) return []
  return looksIssued(url.password) ? [url.password, url.basic] : [url.basic]
}

/** `values` whole and word by word, and `more`, without repeats or short ones, longest first. */
function secretCandidates(values: string[], more: string[]): string[] {
  const candidates = new Set([...values.flatMap((v) => [v.trim(), ...v.split(/\s+/)]), ...more])
  return [...candidates].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length)
}

/**
 * The user and password of `https://user:pass@host/v1` (a basic-auth proxy), as the provider gets them: fetch
 * sends them decoded, as `Authorization: Basic base64(user:pass)`, which a provider may quote back either way.
 */
function urlCredentials(baseUrl: string): { user: string; password: string; basic: string } | null {
  const { username, password } = new URL(baseUrl)
  if (!username && !password) return null
  const [user, pass] = [decoded(username), decoded(password)]
  return { user, password: pass, basic: Buffer.from(`${user}:${pass}`).toString('base64') }
}

/** A percent-encoded URL part decoded; as written when it is not valid percent-encoding. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    return part
  }
}

/**
 * Whatever might identify a credential is cut out of text that came back from a provider: the secrets we
 * sent, in any spelling an encoder gives them (`spellingPattern`), anything shaped like a key, and a key as
 * providers quote it masked (`sk-Qw3rT****…9xZq`, `sk-proj-****abcd`, `****abcd`, `sk-ab****...yz`: a run of
 * asterisks with the characters around it, an ellipsis among them), which shows part of it.
 */
function redact(text: string, secrets: readonly string[] = []): string {
  let out = text
  for (const { anchor, pattern } of spellingPatterns(secrets)) if (out.includes(anchor)) out = out.replace(pattern, '[redacted]')
  return out
    // Only from the start of a run of key characters: unanchored, every position of a long run without
    // `***` (a field name a provider quotes back) would scan to the run's end, quadratic in its length.
    // Its dots only when more of it follows: a sentence's full stop after a key is left.
    .replace(/(?<![A-Za-z0-9_-])[A-Za-z0-9_-]*\*{3,}(?:[A-Za-z0-9_*…-]|\.(?=[A-Za-z0-9_*.…-]))*/g, '[redacted]')
    .replace(/\b(sk|tg|pk|rk)-[A-Za-z0-9_-]{8,}/g, '[redacted]')
    .replace(/\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi, 'Bearer [redacted]')
}

/**
 * A secret's `spellingPattern`, and its longest run of letters and digits, which every spelling writes as it is:
 * text without it is not searched with the pattern (a plain search is many times faster).
 */
interface Spellings {
  anchor: string
  pattern: RegExp
}

/**
 * The spellings of `secrets`, in their order, made once for each list: `secretsOf` gives a provider the same
 * list every time, and `redactStrings` redacts every string of an error with it.
 */
function spellingPatterns(secrets: readonly string[]): Spellings[] {
  let patterns = patternsBySecrets.get(secrets)
  if (!patterns) patternsBySecrets.set(secrets, (patterns = secrets.filter((s) => s.length >= MIN_SECRET_LENGTH).map(spellings)))
  return patterns
}

const patternsBySecrets = new WeakMap<readonly string[], Spellings[]>()

const spellings = (secret: string): Spellings => ({
  anchor: (secret.match(/[A-Za-z0-9]+/g) ?? ['']).reduce((longest, run) => (run.length > longest.length ? run : longest)),
  pattern: spellingPattern(secret),
})

/**
 * `secret` however the text that quotes it spells each character other than a letter or a digit: as it is,
 * percent-encoded (`%2B`, `%2b`; a space also `+`), as an HTML character reference (`&#43;`, `&#x2B;`, `&amp;`, `&plus;`) or
 * as a JSON escape (`\u002B`, `\/`), mixed as they come (Python's `quote` leaves `/` as it is). Go's html/template
 * writes a `Basic` token's `+` as `&#43;`, and a proxy quoting a credential in a URL percent-encodes it; a client
 * decodes either. A text that encodes letters and digits as well is set on hiding the secret: not looked for.
 */
function spellingPattern(secret: string): RegExp {
  let source = ''
  for (const char of secret) source += /[A-Za-z0-9]/.test(char) ? char : `(?:${spellingsOf(char).join('|')})`
  return new RegExp(source, 'g')
}

function spellingsOf(char: string): string[] {
  const code = char.codePointAt(0)!
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0').replace(/[a-f]/g, (d) => `[${d}${d.toUpperCase()}]`)
  const percent = [...new TextEncoder().encode(char)].map((byte) => `%${hex(byte, 2)}`).join('')
  const json = Array.from({ length: char.length }, (_, i) => `\\\\u${hex(char.charCodeAt(i), 4)}`).join('')
  return [
    RegExp.escape(char),
    percent,
    `&#0*${code};?`,
    `&#[xX]0*${hex(code, 1)};?`,
    json,
    ...(NAMES_OF_CHARACTER[char] ?? []).map((name) => `&${name};`),
    ...(char === ' ' ? ['\\+'] : []),
    ...(char === '/' || char === '"' || char === '\\' ? [RegExp.escape(`\\${char}`)] : []),
  ]
}

/**
 * `text` without its longest end that is the start of one of `secrets` (a secret cut where `text` was cut), if any:
 * the longest over every secret, since a short match of one (its first character) says nothing of another's.
 */
function withoutSecretBegunAtEnd(text: string, secrets: readonly string[]): string {
  let cut = 0
  for (const s of secrets) {
    if (s.length < MIN_SECRET_LENGTH) continue
    for (let k = Math.min(s.length - 1, text.length); k > cut; k--)
      if (text.endsWith(s.slice(0, k))) {
        cut = k
        break
      }
  }
  return cut === 0 ? text : text.slice(0, -cut)
}

/** How much of an error body is read and looked at, in characters. */
const ERROR_BODY_CHARS = 65_536

/**
 * The start of an error body as text: reading stops at `ERROR_BODY_CHARS` characters, the rest is cancelled.
 * Nothing of a body that could not be read (it broke off, or the call's signal cut it): the status says enough.
 */
async function readErrorBody(res: Response): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return text + decoder.decode()
      text += decoder.decode(value, { stream: true })
      if (text.length >= ERROR_BODY_CHARS) return text.slice(0, ERROR_BODY_CHARS)
    }
  } catch {
    return ''
  } finally {
    await reader.cancel().catch(() => {})
  }
}

/**
 * A short, safe sentence about what the provider said: never its credentials, never a whole body. The body is
 * read under the call's signal, so the call's timeout bounds it (see callUpstream).
 */
export async function summariseUpstreamError(res: Response, provider: ProviderConfig): Promise<string> {
  return summariseUpstreamText(res.status, await readErrorBody(res), provider, res.headers.get('content-type'))
}

const EXCERPT_CHARS = 120

/** `text/html` from `Text/HTML; charset=utf-8`; nothing when it is not a plain media type. */
export function mediaTypeOf(contentType: string | null | undefined): string | null {
  const type = contentType?.split(';', 1)[0]!.trim().toLowerCase()
  return type && /^[a-z0-9!#$&^_.+-]{1,40}\/[a-z0-9!#$&^_.+-]{1,60}$/.test(type) ? type : null
}

/**
 * The words of a body that is not JSON, never its markup: an HTML page (a proxy's 502) by its title, or
 * else its text without scripts, styles, comments and tags, its character references decoded. Not cut short
 * here: what it decodes is redacted before it is cut.
 */
function pageText(body: string): string {
  const title = /<title[^>]*>([^<]*)<\/title/i.exec(body)?.[1]
  return decodeReferences(
    (title ?? body)
      .replace(/<(script|style)\b[^]*?<\/\1/gi, ' ')
      .replace(/<!--[^]*?-->/g, ' ')
      .replace(/<[^>]*>?/g, ' '),
  ).replace(/[<>]/g, ' ')
}

/**
 * `text` with its character references decoded in one pass, as a browser reads them: numeric ones (`&#43;`,
 * `&#x2B;`, a `;` left out) and the names of punctuation (`&amp;`, `&plus;`: `NAMES_OF_CHARACTER`); another name
 * is left as written. A code point that is a control character, or none, is a space.
 */
const decodeReferences = (text: string): string =>
  text.replace(/&(?:#0*(\d{1,7});?|#[xX]0*([0-9a-fA-F]{1,6});?|([A-Za-z]{2,32});)/g, (reference, decimal?: string, hex?: string, name?: string) => {
    if (name) return CHARACTER_OF_NAME.get(name) ?? reference
    const code = decimal ? Number(decimal) : parseInt(hex!, 16)
    const printable = code > 0x1f && (code < 0x7f || code > 0x9f) && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)
    return printable ? String.fromCodePoint(code) : ' '
  })

/**
 * The same sentence from a body already read. A JSON error keeps the provider's message (the caller may
 * need it to fix the request); anything else is told by status, content type and a text-only excerpt.
 */
export function summariseUpstreamText(status: number, body: string, provider: ProviderConfig, contentType?: string | null): string {
  // Redacted before it is cut: a cut through a credential would leave the part before the cut unrecognised. The
  // body itself may have been cut where reading stopped: a secret begun there is unrecognisable whole, so its start goes.
  const secrets = secretsOf(provider)
  const read = body.length >= ERROR_BODY_CHARS ? withoutSecretBegunAtEnd(body.slice(0, ERROR_BODY_CHARS), secrets) : body
  const text = redact(read, secrets).slice(0, 4096)
  let detail: string
  let type: string | null = null
  let limit = 300
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown }
    const msg = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? parsed.message)
    detail = typeof msg === 'string' ? msg : ''
  } catch {
    detail = pageText(text)
    type = mediaTypeOf(contentType)
    limit = EXCERPT_CHARS
  }
  // Redacted again before it is cut: a page's text decoded (`&amp;#43;` is `&#43;`) may spell a secret anew.
  detail = redact(detail.replace(/\s+/g, ' ').trim(), secrets).slice(0, limit)
  return `Upstream provider answered ${status}${type ? ` (${type})` : ''}${detail ? `: ${detail}` : '.'}`
}

/**
 * Every string of a JSON value, keys included, with whatever might identify a credential cut out. A
 * provider's error event may echo the request anywhere (`message`, `param`, `code`, an `error` nested in
 * an `error`), so none of it is trusted; walking the parsed value, not the raw text, also finds a secret
 * the provider wrote with JSON escapes.
 */
export function redactStrings(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return redact(value, secrets)
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, secrets))
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k, secrets), redactStrings(v, secrets)]))
  return value
}

/**
 * A 2xx answer that is only an error: OpenAI's `{"error": …}` or Anthropic's `{"type": "error", …}`, with no
 * usage and nothing the provider made beside it (`answerCarriesOutput`, or `madeBesideOutput`). Some
 * OpenAI-compatible servers and proxies answer a failure this way; the provider made nothing, so it is a
 * failure like a 5xx, not an answer. One with output beside its error (OpenRouter's failure mid-generation, a
 * failed Responses object with what it made) is an answer, paid, its error redacted (`withErrorRedacted`).
 */
export function isErrorAnswer(answer: object): boolean {
  const a = answer as { error?: unknown; type?: unknown; usage?: unknown }
  if ((a.type !== 'error' && a.error == null) || a.usage != null) return false
  return !madeBesideOutput(answer) && !answerCarriesOutput(answer)
}

/** What the per-request and embeddings routes make: vectors, a transcription's text, moderation results. */
function madeBesideOutput(answer: object): boolean {
  const { data, text, results } = answer as { data?: unknown; text?: unknown; results?: unknown }
  const vectors = Array.isArray(data) && data.some((d) => d !== null && typeof d === 'object' && 'embedding' in d)
  return vectors || (typeof text === 'string' && text.length > 0) || (Array.isArray(results) && results.length > 0)
}

/**
 * An answer as the client gets it: one that carries an error (beside output, or beside a usage; on the answer
 * or on one of its choices, where OpenRouter puts a failure mid-generation) has that error's strings cut of
 * credentials (`redactStrings`), as any provider error text is; any other as it is.
 */
export function withErrorRedacted<T extends object>(answer: T, secrets: readonly string[]): T {
  const { error, choices } = answer as { error?: unknown; choices?: unknown }
  const choiceErrors = Array.isArray(choices) && choices.some((c) => c !== null && typeof c === 'object' && (c as { error?: unknown }).error != null)
  if (error == null && !choiceErrors) return answer
  const redacted: Record<string, unknown> = { ...(answer as Record<string, unknown>) }
  if (error != null) redacted.error = redactStrings(error, secrets)
  if (choiceErrors)
    redacted.choices = (choices as unknown[]).map((c) =>
      c !== null && typeof c === 'object' && (c as { error?: unknown }).error != null ? { ...c, error: redactStrings((c as { error: unknown }).error, secrets) } : c,
    )
  return redacted as T
}

/**
 * A 2xx answer's text as the client gets it: refused when it is only an error (our redacted 502, which the caller
 * releases), its error redacted when it carries one beside more, else as it came; and refused whatever it is, JSON
 * or not, when it quotes the provider's credentials (`refuseCredentialEcho`, paid).
 */
export function checkedAnswerText(text: string, status: number, provider: ProviderConfig): string {
  const relayed = errorCheckedJson(text, status, provider)
  refuseCredentialEcho(relayed, credentialsOf(provider))
  return relayed
}

function errorCheckedJson(text: string, status: number, provider: ProviderConfig): string {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return text
  }
  if (parsed === null || typeof parsed !== 'object') return text
  // A stored Response read back is the resource, failed or not (`status: "failed"` and its error): never our 502.
  if (isErrorAnswer(parsed) && (parsed as { object?: unknown }).object !== 'response') throw errorAnswerFailure(status, text, provider)
  const relayed = withErrorRedacted(parsed, secretsOf(provider))
  return relayed === parsed ? text : JSON.stringify(relayed)
}

/**
 * A 2xx answer that quotes a credential the gateway sent its provider: the request echoed back (httpbin's
 * `/anything` behind a mistyped `base_url`, a debugging proxy, a misconfigured compatible server). It is not
 * relayed (SPEC §2: secrets are never returned), and the client is told why, nothing of the answer. Whatever
 * answers at the base URL received the call and answered it, so it is not released as a provider's error is:
 * it is paid as an answer that cannot be used (`readAnswer`), or a stream the gateway cut (`meterStream`).
 */
export class CredentialsEchoed extends GatewayError {
  constructor() {
    super(
      502,
      'upstream_error',
      "Upstream provider's answer quotes the credentials the gateway sent it (an echo of the request?), so it was not relayed. The gateway's operator must check this provider's base_url.",
      'api_error',
    )
  }
}

/**
 * Whether `text` holds one of `credentials` (`credentialsOf`) as it was sent, or as a JSON encoder wrote it with
 * `\uXXXX` escapes, which a client's parser decodes (.NET's System.Text.Json writes a `Basic` token's `+` as
 * `\u002B`). An echo quotes what it received; a provider set on leaking the key could encode it any way it likes,
 * and nothing on the path could tell.
 */
export function quotesCredentials(text: string, credentials: readonly string[]): boolean {
  if (includesAny(text, credentials)) return true
  // Only text with such an escape is decoded: most answers have none and cost one scan more.
  return credentials.length > 0 && text.includes('\\u') && includesAny(jsonUnescaped(text), credentials)
}

/**
 * The same for bytes not decoded: `Buffer.includes` looks for each credential's UTF-8 bytes, a view on one chunk.
 * `escapedStart`: the bytes are a window of a longer text whose first byte is the character of an escape begun
 * before it (an odd run of `\\` ends just before): it is skipped by the decoding, else it would be read as a `\\`
 * starting one and swallow the next escape's own.
 */
export function bytesQuoteCredentials(chunks: readonly Uint8Array[], credentials: readonly string[], escapedStart = false): boolean {
  if (credentials.length === 0 || chunks.length === 0) return false
  const [first] = chunks
  const bytes = chunks.length === 1 ? Buffer.from(first!.buffer, first!.byteOffset, first!.byteLength) : Buffer.concat(chunks)
  for (const c of credentials) if (bytes.includes(c)) return true
  return bytes.includes('\\u') && includesAny(jsonUnescaped(bytes.toString().slice(escapedStart ? 1 : 0)), credentials)
}

function includesAny(text: string, values: readonly string[]): boolean {
  for (const v of values) if (text.includes(v)) return true
  return false
}

const JSON_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }

/** `text` with its JSON string escapes decoded (`\u002B`, `\/`, `\\`…), wherever they are: a search, not a parse. */
const jsonUnescaped = (text: string): string =>
  text.replace(/\\(?:u([0-9a-fA-F]{4})|(.))/g, (_, hex: string | undefined, char: string) => (hex ? String.fromCharCode(parseInt(hex, 16)) : (JSON_ESCAPES[char] ?? char)))

/** Throws `CredentialsEchoed` when `text` quotes one of `credentials`. */
export function refuseCredentialEcho(text: string, credentials: readonly string[]): void {
  if (quotesCredentials(text, credentials)) throw new CredentialsEchoed()
}

/** A 2xx error answer as our error (see `isErrorAnswer`). */
export const errorAnswerFailure = (status: number, body: string, provider: ProviderConfig): GatewayError =>
  asOverloaded(badGateway(summariseUpstreamText(status, body, provider)), status, errorNamesOf(body))

/**
 * Maps a provider's refusal to ours. Its 4xx is the caller's to fix, so the status is kept, but for one about
 * our credentials (401, 403, a proxy's 407), a 502 that tells the client nothing of the provider's text
 * (`providerRefusedCredentials`); anything else is a 502. A redirect (never followed: see callUpstream) is named as
 * one, without its Location, which may be anything, a signed URL included. A 429 and a 5xx keep the provider's word
 * on when to come back (`retryAfterHeaders`): the official SDKs retry both by default, at once without it.
 */
export async function upstreamFailure(res: Response, provider: ProviderConfig): Promise<GatewayError> {
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel().catch(() => {})
    return badGateway(`Upstream provider answered ${res.status}, a redirect, which the gateway does not follow; check the provider's base_url.`)
  }
  const body = await readErrorBody(res)
  const message = summariseUpstreamText(res.status, body, provider, res.headers.get('content-type'))
  if (res.status === 429) {
    const error = upstreamRateLimited(message, retryAfterHeaders(res.headers))
    // OpenAI's account out of credits: no retry is answered otherwise until someone pays.
    if (errorNamesOf(body).includes('insufficient_quota')) error.retryable = false
    return error
  }
  if (res.status === 401 || res.status === 403 || res.status === 407)
    return providerRefusedCredentials(res.status, new URL(provider.base_url).host, message)
  if (res.status >= 400 && res.status < 500) return upstreamRejected(res.status, message)
  return asOverloaded(badGateway(message, retryAfterHeaders(res.headers)), res.status, errorNamesOf(body))
}

/**
 * The provider's own names for its error, `error.type` and `error.code` (OpenAI's and Anthropic's shapes
 * alike), for the few the gateway acts on; none when the body is not such JSON.
 */
function errorNamesOf(body: string): string[] {
  try {
    const { error } = JSON.parse(body) as { error?: { type?: unknown; code?: unknown } }
    return [error?.type, error?.code].filter((name): name is string => typeof name === 'string')
  } catch {
    return []
  }
}

/**
 * A provider overloaded (Anthropic's 529 `overloaded_error`, OpenAI's `server_is_overloaded`: `namesOverload`), in an
 * error status or in a 200 that is only its error, is told to an Anthropic client as such, though in a 502: Claude
 * Code counts these by the type in the message, and after a few switches to its fallback model.
 */
function asOverloaded(error: GatewayError, status: number, names: readonly string[]): GatewayError {
  if (status === 529 || namesOverload(names)) error.anthropicType = 'overloaded_error'
  return error
}

/**
 * Why a call was cut: its whole-call timeout, its client going away, a silent stream, a stream whose client took
 * nothing of it for the idle timeout (let go: `unread`), or the gateway stopping.
 */
export type CutReason = 'timeout' | 'client' | 'idle' | 'unread' | 'shutdown'

export interface UpstreamSignal {
  signal: AbortSignal
  /** Why it was aborted, once it was. */
  reason(): CutReason | null
  /** Our client went away: the call aborted for it, or to be once the deferred cut under way has read (`deferCuts`). */
  clientLeft(): boolean
  /** Aborts as an idle stream. */
  abortIdle(): void
  /** Aborts because our client went away. */
  abortClient(): void
  /** Aborts because our client took nothing of the stream for the idle timeout. */
  abortUnread(): void
  /**
   * Has the first cut (the timeout, the client's, the idle and unread cuts, the stop) call `first` instead of aborting
   * the call: the abort discards what has arrived of the provider's body unread (Bun's fetch errors the body at once),
   * which `first` may read before it makes the abort it is given. Until it does, `reason` stays null and later cuts
   * are left to it. The client leaving meanwhile waits for it too, or what `first` has read would be discarded unpaid:
   * `clientLeft` says so at once, and the abort `first` makes is then the client's. Returns what takes `first` back.
   */
  deferCuts(first: (why: CutReason, abort: () => void) => void): () => void
  dispose(): void
}

/**
 * One signal for the upstream call: the whole-request timeout, the client going away, an idle stream, or
 * the gateway's stop (`stopping`: already aborted, the signal is born aborted).
 */
export function upstreamSignal(timeoutMs: number, client?: AbortSignal, stopping?: AbortSignal): UpstreamSignal {
  const controller = new AbortController()
  let why: CutReason | null = null
  let deferTo: ((why: CutReason, abort: () => void) => void) | null = null
  let deferred: CutReason | null = null
  let leftDuringDeferred = false
  const abortNow = (reason: CutReason) => {
    if (why) return
    why = reason
    controller.abort(new DOMException(reason, reason === 'timeout' || reason === 'idle' ? 'TimeoutError' : 'AbortError'))
  }
  const abort = (reason: CutReason) => {
    if (!deferTo) return abortNow(reason)
    if (deferred) return void (leftDuringDeferred ||= reason === 'client' && !why)
    deferred = reason
    deferTo(reason, () => abortNow(leftDuringDeferred ? 'client' : reason))
  }
  const timer = setTimeout(() => abort('timeout'), timeoutMs)
  const onClientAbort = () => abort('client')
  const onStop = () => abort('shutdown')
  client?.addEventListener('abort', onClientAbort, { once: true })
  if (stopping?.aborted) onStop()
  else stopping?.addEventListener('abort', onStop, { once: true })
  return {
    signal: controller.signal,
    reason: () => why,
    clientLeft: () => why === 'client' || leftDuringDeferred,
    abortIdle: () => abort('idle'),
    abortClient: () => abort('client'),
    abortUnread: () => abort('unread'),
    deferCuts(first) {
      deferTo = first
      return () => void (deferTo = null)
    },
    dispose() {
      clearTimeout(timer)
      client?.removeEventListener('abort', onClientAbort)
      stopping?.removeEventListener('abort', onStop)
    },
  }
}

/** A failed fetch (no response at all) as our error. */
export function fetchFailure(error: unknown, signal: UpstreamSignal): GatewayError {
  const why = signal.reason()
  if (why === 'timeout' || why === 'idle') return gatewayTimeout('Upstream provider did not answer in time.')
  if (why === 'client') return clientClosedRequest()
  if (why === 'shutdown') return gatewayStopping()
  const code = (error as { code?: string })?.code
  return badGateway(`Upstream provider could not be reached${code ? ` (${code})` : ''}.`)
}

/**
 * Client headers an Anthropic provider should still see: the API version the client speaks, and its
 * opt-in to beta features, its flags as the gateway read and priced them (`clientBetaFlags`), joined by commas. A provider of
 * the other format gets neither: the translation is what it honours.
 */
export function anthropicClientHeaders(clientHeaders: Headers): Record<string, string> {
  const headers: Record<string, string> = {}
  const version = clientHeaders.get('anthropic-version')
  if (version) headers['anthropic-version'] = version
  const betas = clientBetaFlags([clientHeaders.get('anthropic-beta') ?? ''], 'header: anthropic-beta').join(',')
  if (betas) headers['anthropic-beta'] = betas
  return headers
}

/**
 * `base` with `over` on top, header names matched in any case. A plain spread keeps both spellings of a name
 * (`anthropic-beta` and `Anthropic-Beta`), and fetch sends them joined into one value.
 */
function overriding(base: Record<string, string>, over: Record<string, string>): Record<string, string> {
  const replaced = new Set(Object.keys(over).map((name) => name.toLowerCase()))
  const kept = Object.entries(base).filter(([name]) => !replaced.has(name.toLowerCase()))
  return { ...Object.fromEntries(kept), ...over }
}

/**
 * The headers a call sends a provider besides its credentials: those the route passes on for the client,
 * each replaced by a header of the same name the provider's configuration sets. The provider bills by what
 * it receives, so what a request is billed for (an `anthropic-beta` flag) is read from these too.
 */
export const headersSent = (provider: ProviderConfig, passedOn: Record<string, string> = {}): Record<string, string> =>
  overriding(passedOn, provider.headers)

/** The provider with the headers a call sends it (`headersSent`): what `callUpstream` takes. */
export const withHeadersSent = (provider: ProviderConfig, passedOn?: Record<string, string>): ProviderConfig => ({
  ...provider,
  headers: headersSent(provider, passedOn),
})

/** The `anthropic-beta` flags a call to `provider` sends (all its values, joined as fetch joins them), or ''. */
export const anthropicBetaSent = (provider: ProviderConfig, passedOn?: Record<string, string>): string =>
  new Headers(headersSent(provider, passedOn)).get('anthropic-beta') ?? ''

/**
 * What every call to `provider` carries: its credentials, an ask for an answer not compressed (`accept-encoding:
 * identity`: a server that compresses anyway is decompressed by `inflated`), and over either the headers its
 * configuration sets.
 */
export function authHeaders(provider: ProviderConfig): Record<string, string> {
  const credentials: Record<string, string> =
    provider.type === 'anthropic'
      ? { 'x-api-key': provider.api_key, 'anthropic-version': '2023-06-01' }
      : provider.api_key ? { authorization: `Bearer ${provider.api_key}` } : {}
  return overriding({ 'accept-encoding': 'identity', ...credentials }, provider.headers)
}
