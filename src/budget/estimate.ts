/**
 * The worst-case token counts of a request, before it is sent. Input: a token is at least one byte,
 * so the UTF-8 length of every string the request sends (of its NFKC form if longer: a tokenizer may normalize
 * first) bounds its text, and the JSON text of every
 * structured value (tool inputs and schemas, arguments, response formats: providers tokenize them as JSON,
 * punctuation and literals included) bounds that value, with what a chat template adds when it writes the value
 * again (line breaks, indents) and a tool's text result as the JSON string a template writes it as; each message
 * adds a fixed overhead (role and separators). Media and files sent inline (an image's data URL, audio's base64, a
 * PDF) count their bytes, never less than a configured bound: what a provider makes of them grows with
 * their size (seconds of audio, an image's pixels on a server that does not downscale), and their encoded
 * bytes bound it. A PDF is the exception: billed per page (its text and an image of each page), a page of
 * a few bytes costs thousands of tokens, so an inline PDF counts at least its pages times a per-page bound,
 * plus its pages' text decoded (compressed, its bytes do not bound it), or as a file by reference when that
 * text cannot be read; and an office document (.docx, .pptx, .xlsx: a ZIP of deflated text) counts as a file by reference.
 * Sent by reference (an id, a URL), media and files count the bound, since their bytes are not here; with
 * hard bounds (cap-output on), a file by reference may be a PDF of as many pages as a request may carry (or a
 * text file as large as the context window the request opens or its model has), an
 * earlier audio answer named by id as long as one answer can be, an image at `detail: "original"`, inline
 * or not, as large as that detail bills, and a video, inline or not (or video or audio sent as an image or a file),
 * as a file by reference (billed by its length);
 * towards a provider that refuses a prompt past its window (Anthropic), its media and files no more than the window
 * leaves (the text it carries is never held below its bytes).
 * Output: the request's own maximum, or the configured default.
 */
import { anthropicToolsOffered } from '../pricing/anthropic-inline-tools'
import { responsesRequestTools } from '../pricing/features'
import { decodedHead, inlineBase64, inlineFileData, isDataUrl, isMediaPart, partFile, partFileByReference, partImage, partIsTimedMedia, urlPath } from './part-media'
import { pdfWork, type PdfRead, type PdfWork, readPdf } from './pdf-pages'
import { nfkcBoundBytes } from './nfkc-bytes'
import { stringEnd } from '../http/json-string-end'

export interface EstimateOptions {
  defaultMaxOutputTokens: number
  mediaPartTokens: number
  /** Input tokens per page of an inline PDF; unset, DEFAULT_PDF_PAGE_TOKENS. */
  pdfPageTokens?: number
  /**
   * The PDF pages a request may carry (`estimateOptionsFor`: 600 towards Anthropic where its window may be 1M): what an
   * inline PDF counts when its pages cannot be read, and with hard bounds a request's files by reference; unset,
   * DEFAULT_PDF_MAX_PAGES.
   */
  pdfMaxPages?: number
  /**
   * The estimate must bound the bill (cap-output on): a file by reference is held as the largest PDF a request
   * may carry, an earlier audio answer named by id as the longest answer (`AUDIO_ANSWER_MAX_TOKENS`), an image
   * at `detail: "original"` as the largest (`IMAGE_ORIGINAL_DETAIL_TOKENS`), an image to Anthropic as the
   * largest it takes (`ANTHROPIC_IMAGE_MAX_TOKENS`).
   */
  hardBounds?: boolean
  /**
   * The context window the request opens on its provider (Anthropic's 1M window, `context-1m-…`, or the window
   * its price row states): with hard bounds, the request's first file by reference is held at it when it is larger
   * than the PDF bound, since a text file there (a `document` or `file` by file id) is bounded only by the window,
   * not by pages.
   */
  contextWindowTokens?: number
  /**
   * The provider refuses a prompt past `contextWindowTokens` rather than bill it (Anthropic): with hard bounds, no
   * request's input is held past that window for its PDFs' pages, its files by reference or its media (`billableInput`).
   */
  promptsWithinWindow?: boolean
  /**
   * Input the provider's chat template writes on its own, once a request (`DEFAULT_TEMPLATE_OVERHEAD_TOKENS`): held
   * on chat and Responses where the provider renders one (`estimateOptionsFor`); unset, none.
   */
  templateOverheadTokens?: number
  /**
   * The model reads a `fileid://…` in a chat message's text as a file uploaded to its provider (DashScope's Qwen-Long
   * and Qwen-Doc family: `estimateOptionsFor`): each is counted as a file by reference. Elsewhere it is text.
   */
  readsFileIdUrls?: boolean
}

/**
 * The input a server's chat template writes on its own, which the body does not show and the server bills in its
 * prompt: a default system prompt when the request sends none, a date header, a preamble before every prompt. At a
 * token a byte (as all text is held), with room, the largest known: Granite 3.2+'s thinking prompt (812 bytes),
 * Mistral Small 3.1's `default_system_message` (677), gpt-oss's harmony system message (220, and its special
 * tokens), Llama 3.1–3.3's "Cutting Knowledge Date … Today Date …" header (63).
 */
export const DEFAULT_TEMPLATE_OVERHEAD_TOKENS = 1024

/** Anthropic bills ~1,500–3,000 tokens a PDF page. */
export const DEFAULT_PDF_PAGE_TOKENS = 3000
/**
 * The limit of PDF pages in one request, across its files, below a 1M-token window: Anthropic's there, and the
 * 100 pages OpenAI's file inputs guide gave. Anthropic's 1M window takes 600 (`ANTHROPIC_PDF_MAX_PAGES`).
 */
export const DEFAULT_PDF_MAX_PAGES = 100
/**
 * The most tokens an earlier audio answer brings back when a chat message names it by id: the max output of
 * OpenAI's audio chat models (gpt-4o-audio-preview, gpt-4o-mini-audio-preview, gpt-audio: 16,384 tokens). An
 * answer's audio and its transcript both count against that max, so what the provider reads again is no more.
 */
export const AUDIO_ANSWER_MAX_TOKENS = 16_384
/**
 * The most tokens one image at `detail: "original"` bills on OpenAI: the image keeps its resolution up to
 * 10,000 32-px patches, and models that bill patches with a multiplier bill up to 2.46 tokens a patch
 * (gpt-4.1-nano; gpt-4.1-mini 1.62, o4-mini 1.72): 24,600, with room. Its bytes do not bound it even when
 * inline: a compressed image of one colour is a few kilobytes at any size.
 */
export const IMAGE_ORIGINAL_DETAIL_TOKENS = 25_000
/**
 * The most tokens one image bills on Anthropic: about width × height / 750, and Claude Opus 4.7 takes images
 * up to 2,576 px on the long edge (~3.75 megapixels: ~5,000 tokens; 1,568 px and ~1,600 tokens before it),
 * with room. Its bytes do not bound it: a compressed full-size screenshot is a few kilobytes.
 */
const ANTHROPIC_IMAGE_MAX_TOKENS = 6_000

/**
 * The bounds of media and file parts, as the estimate threads them through, and the work its PDFs may
 * still take: one estimate, one `PdfWork`, shared by all the request's PDFs (a request of many small zip
 * bombs is read no longer than one). `audioAnswer` is what an earlier audio answer named by id counts, and
 * `originalImage` the least an image at `detail: "original"` does, `anthropicImage` the least an Anthropic image does.
 * `filePdfTokens` is what the request's files by reference have yet to be held for: with hard bounds, the most
 * pages a request may carry, or the context window it opens if larger, once. `guessed` is what its media and files
 * are held for so far: bounds, not text the request carries (`heldAsBound`). With `hardBounds`, a part is text only
 * when it is plainly text (`isPlainTextPart`).
 */
interface MediaBounds {
  hardBounds: boolean
  part: number
  audioAnswer: number
  originalImage: number
  anthropicImage: number
  pdfPage: number
  pdfMaxPages: number
  pdfWork: PdfWork
  filePdfTokens: number
  guessed: number
}

const mediaBounds = (o: EstimateOptions): MediaBounds => {
  const pdfPage = o.pdfPageTokens ?? DEFAULT_PDF_PAGE_TOKENS
  const pdfMaxPages = o.pdfMaxPages ?? DEFAULT_PDF_MAX_PAGES
  return {
    hardBounds: o.hardBounds === true,
    part: o.mediaPartTokens,
    audioAnswer: o.hardBounds ? Math.max(o.mediaPartTokens, AUDIO_ANSWER_MAX_TOKENS) : o.mediaPartTokens,
    originalImage: o.hardBounds ? Math.max(o.mediaPartTokens, IMAGE_ORIGINAL_DETAIL_TOKENS) : o.mediaPartTokens,
    anthropicImage: o.hardBounds ? Math.max(o.mediaPartTokens, ANTHROPIC_IMAGE_MAX_TOKENS) : o.mediaPartTokens,
    pdfPage,
    pdfMaxPages,
    pdfWork: pdfWork(),
    filePdfTokens: o.hardBounds ? Math.max(pdfMaxPages * pdfPage, o.contextWindowTokens ?? 0) : 0,
    guessed: 0,
  }
}

/** `tokens` held for a media part or a file, whose bytes do not say what it bills: counted as `guessed`. */
function heldAsBound(tokens: number, media: MediaBounds): number {
  media.guessed += tokens
  return tokens
}

/**
 * The input a request may be billed. Where the provider refuses a prompt past its window (`promptsWithinWindow`),
 * no more than that window: its PDFs, files by reference and media together, not each of them, since they share one
 * prompt. The text it carries is never held below its bytes (SPEC §6), even past the window: a window the gateway
 * assumed may be too small (a non-Claude model behind an Anthropic-compatible endpoint, whose row states none).
 */
const billableInput = (input: number, o: EstimateOptions, media: MediaBounds): number =>
  o.hardBounds && o.promptsWithinWindow && o.contextWindowTokens ? Math.min(input, Math.max(o.contextWindowTokens, input - media.guessed)) : input

export interface TokenEstimate {
  inputTokens: number
  outputTokens: number
  /**
   * The input count bounds what the provider can bill for the input: the request carries no media or file, whose
   * counts are bounds the gateway chose (`heldAsBound`), which a model's own image or file rules may exceed.
   * Unset where an estimate does not say (embeddings, per-request routes): taken as not bounding it.
   */
  boundsInput?: boolean
}

export const PER_MESSAGE_OVERHEAD = 8

/**
 * Input a provider adds, unseen in the body, to every request that offers tools. Anthropic puts a tool-use
 * system prompt before the request's own: its docs ("Tool use pricing and tokens",
 * https://docs.anthropic.com/en/docs/tool-use-pricing-and-tokens) list 159 to 530 tokens by model and
 * tool_choice (530 the largest: Claude 3 Opus, auto; 346 for Claude 4 models, auto or none; 313 any or tool).
 * OpenAI renders function definitions in a hidden format of its own, with a few tokens a request and a
 * function besides the definitions' text (which the estimate counts by its JSON bytes). This bounds the
 * largest documented figure, with room.
 */
export const TOOL_USE_OVERHEAD_TOKENS = 600

/**
 * Input Anthropic adds, unseen in the body, for each tool it defines itself (a client tool known by its
 * versioned type, whose definition and instructions Anthropic supplies), on top of the tool-use allowance.
 * Its tool docs: computer use adds a system prompt of 466–499 tokens and 735 tokens a tool definition
 * (683 for `computer_20241022`), the text editor 700 tokens, bash 245. The memory tool's figure is not
 * documented: it is held at the text editor's, whose file commands it shares. Each with room.
 */
const ANTHROPIC_DEFINED_TOOL_TOKENS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^computer_\d{8}$/, 1500],
  [/^text_editor_\d{8}$/, 900],
  [/^bash_\d{8}$/, 350],
  [/^memory_\d{8}$/, 900],
]

/**
 * The hidden input of the Anthropic-defined tools among a Messages request's tool definitions
 * (`ANTHROPIC_DEFINED_TOOL_TOKENS`).
 */
function anthropicDefinedToolTokens(tools: unknown): number {
  if (!Array.isArray(tools)) return 0
  let n = 0
  for (const tool of tools) {
    const type = (tool as { type?: unknown } | null)?.type
    if (typeof type === 'string') n += ANTHROPIC_DEFINED_TOOL_TOKENS.find(([pattern]) => pattern.test(type))?.[1] ?? 0
  }
  return n
}

/**
 * The tool-use allowance of a request that offers any tool: in `tools`, chat's legacy `functions`, a Responses
 * input item (`responsesRequestTools`) or an Anthropic tool defined in the conversation (`anthropicToolsOffered`),
 * which the provider renders as one in `tools`.
 */
const toolUseOverhead = (...lists: unknown[]): number =>
  lists.some((list) => Array.isArray(list) && list.length > 0) ? TOOL_USE_OVERHEAD_TOKENS : 0

/**
 * The hold of a translated request: the larger of its estimate as the client sent it and as the provider
 * receives it, in the target's format. A translation adds text of its own (a tool's `type` and default
 * schema, a tool call's arguments as a JSON string, its wrappers), which the provider bills.
 */
export const largerEstimate = (sent: TokenEstimate, translated: TokenEstimate): TokenEstimate => ({
  inputTokens: Math.max(sent.inputTokens, translated.inputTokens),
  outputTokens: Math.max(sent.outputTokens, translated.outputTokens),
  boundsInput: sent.boundsInput === true && translated.boundsInput === true,
})

/**
 * Parts whose billed size neither a URL nor their bytes bound: counted as a file by reference, their bytes if
 * more. Video (chat's `video_url` on OpenRouter and vLLM, by URL or data URL) is billed by its length (Gemini:
 * ~300 tokens a second, frames and sound: a 35-minute talk ~630,000; a still picture for an hour compresses
 * to almost nothing); so is audio by URL (vLLM's and SGLang's `audio_url`: Qwen2.5-Omni, 25 tokens a second);
 * a document by URL (Mistral's `document_url`) by the text extracted from it.
 */
const BY_REFERENCE_PART_TYPES = new Set(['video_url', 'input_video', 'video', 'audio_url', 'document_url'])

/**
 * Parts of text: chat's, Responses' (a message's, a reasoning item's, a code interpreter's logs), and Mistral's
 * `reference` (the ids of the documents a text cites).
 */
const TEXT_PART_TYPES = new Set(['text', 'input_text', 'output_text', 'refusal', 'reasoning_text', 'summary_text', 'logs', 'reference'])

/**
 * Keys a server reads media from, whatever the part's `type`: vLLM reads a part with a `uuid` (or none) by the media
 * key it carries (`image_url`, `video_url`, `audio_url`, `input_audio`, `image_pil`, `image_embeds`…), so
 * `{type: "text", uuid, video_url}` is a video there.
 */
const MEDIA_KEY = /^(uuid|image|video|audio|file|document|image_pil|input_(audio|image|video|file)|file_(id|data))$|_(url|embeds)$/
/** Media keys that may name a video, audio or a document: billed by length, not bounded by the media bound. */
const TIMED_OR_FILE_KEY = /video|audio|file|document/

/**
 * The bytes a text bounds: its UTF-8 bytes, or those of its NFKC form if more. A tokenizer may normalize a text
 * before it splits it: Anthropic's (`@anthropic-ai/tokenizer`) runs NFKC first, and NFKC expands some characters
 * many-fold (U+FDFA, 3 bytes, becomes 33; Claude bills 15 tokens for it), so a token is at least a byte of the
 * normalized text, not of the text sent. ASCII, which NFKC leaves as it is, is not looked at again.
 */
function utf8(s: string): number {
  const bytes = Buffer.byteLength(s, 'utf8')
  return bytes === s.length ? bytes : nfkcBoundBytes(s)
}

/**
 * The bytes a value bounds. A string (message text) counts its UTF-8 bytes (`utf8`). An object or array counts
 * its JSON text: providers read structured values (tool inputs, tool schemas, function-call arguments,
 * response formats) as JSON, and tokenize its punctuation, quotes, escapes and literals (`null`, `true`, a
 * number's digits) as much as its strings, so 20,000 nulls are 100,000 bytes, not none; and its separators
 * as a chat template may write them, and its numbers as Python writes them (`templateRewriteTokens`), and its HTML
 * characters as TGI's `tojson` escapes them (`tojsonBytes`). A number or a boolean on its own counts its
 * JSON length, never less than 8; nothing (null, undefined) counts 0.
 */
export function textBytes(value: unknown): number {
  if (typeof value === 'string') return utf8(value)
  if (typeof value === 'number' || typeof value === 'boolean') return Math.max(8, String(value).length)
  if (value !== null && typeof value === 'object') {
    const json = JSON.stringify(value) ?? ''
    return tojsonBytes(json) + templateRewriteTokens(json)
  }
  return 0
}

const HTML_UNSAFE = ['<', '>', '&', "'"]
/** `\u003c` is 6 bytes where `<` was 1. */
const HTML_SAFE_ESCAPE_GROWTH = 5
/** Characters of a JSON text that minijinja's `tojson` writes escaped: `<` `>` `&` `'`, by char code. */
const IS_HTML_UNSAFE = new Uint8Array(128)
for (const c of HTML_UNSAFE) IS_HTML_UNSAFE[c.charCodeAt(0)] = 1
/** HTML-unsafe characters searched for one by one; past them, the text is walked once. */
const SEARCHED_HTML_UNSAFE = 32

/**
 * The bytes a chat template writes a JSON text as with `tojson`. TGI renders templates with minijinja, whose
 * `tojson` is HTML-safe: it writes `<` `>` `&` `'` as `\u003c` `\u003e` `\u0026` `\u0027`, 6 bytes (three Llama 3
 * pre-tokens), so an HTML page a tool fetched bills far past its bytes. Searched for where they are few (most tool
 * schemas and prose: four searches cost a few µs a 100 KB); where they are many (HTML, code), one walk costs less
 * than a search for each.
 */
function tojsonBytes(json: string): number {
  let unsafe = 0
  for (const c of HTML_UNSAFE)
    for (let i = json.indexOf(c); i !== -1; i = json.indexOf(c, i + 1))
      if (++unsafe === SEARCHED_HTML_UNSAFE) return utf8(json) + walkedHtmlUnsafe(json) * HTML_SAFE_ESCAPE_GROWTH
  return utf8(json) + unsafe * HTML_SAFE_ESCAPE_GROWTH
}

/** The HTML-unsafe characters of `json`, a character at a time. */
function walkedHtmlUnsafe(json: string): number {
  let unsafe = 0
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i)
    if (c < 128) unsafe += IS_HTML_UNSAFE[c]!
  }
  return unsafe
}

const TEMPLATE_SEPARATOR_TOKENS = 3
const QUOTE = 0x22
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_BRACKET = 0x5b
const OPEN_BRACE = 0x7b
const CLOSE_BRACKET = 0x5d
const CLOSE_BRACE = 0x7d
const MINUS = 0x2d
const PLUS = 0x2b
const DOT = 0x2e
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39
const LOWER_E = 0x65
const UPPER_E = 0x45

/**
 * What a structured value gains when a chat template writes it again. vLLM, SGLang and TGI render a request
 * through the model's template, which re-serialises tool definitions and tool-call arguments with
 * transformers' `tojson`: Llama 3.1–3.3's with `indent=4`, every member and item on a line of its own, indented;
 * Qwen's and Hermes' with `, ` and `: `. A compact `0,` (2 bytes) becomes `0` `,\n` `<indent>` ` `, four
 * tokens, so an enum of digits bills twice its bytes. Each `,` `:` `[` `{` of the JSON text outside its strings
 * counts 3 tokens on top: the line break, indent and space it may gain, at any indent. Deeper than 10 levels an
 * indent grows past what one token holds (Llama 3 writes up to ~80 spaces as one), and a separator may start two
 * lines (an item's and its closing bracket's): one more token each 10 levels, so deep nesting is not billed
 * quadratically past its hold. A float counts the bytes Python's json writes it longer (`redumpedFloatGrowth`).
 * Strings are skipped whole (prose in a description keeps its commas), so base64 data costs a search, not a walk.
 */
function templateRewriteTokens(json: string): number {
  let tokens = 0
  let depth = 0
  // Kept as depth changes, not worked out at each separator: this loop walks every byte of megabyte arguments.
  let separator = TEMPLATE_SEPARATOR_TOKENS
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i)
    if (c === COMMA || c === COLON) tokens += separator
    else if (c === QUOTE) i = stringEnd(json, i)
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      separator = TEMPLATE_SEPARATOR_TOKENS + ((++depth / 10) | 0)
      tokens += separator
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      if (depth > 0) separator = TEMPLATE_SEPARATOR_TOKENS + ((--depth / 10) | 0)
    } else if (c === MINUS || isDigit(c)) {
      // An integer is written again as it is: only a fraction or an exponent after its digits makes it a float.
      const start = i
      while (isDigit(json.charCodeAt(i + 1))) i++
      const next = json.charCodeAt(i + 1)
      if (next === DOT || next === LOWER_E || next === UPPER_E) {
        const end = numberEnd(json, i + 1)
        tokens += redumpedFloatGrowth(json, start, end)
        i = end - 1
      }
    }
  }
  return tokens
}

const isDigit = (c: number) => c >= DIGIT_0 && c <= DIGIT_9

/** The index past the number whose fraction or exponent starts at `from`. */
function numberEnd(json: string, from: number): number {
  let i = from
  for (let c = json.charCodeAt(i); isDigit(c) || c === DOT || c === LOWER_E || c === UPPER_E || c === PLUS || c === MINUS; c = json.charCodeAt(++i));
  return i
}

/** Past this, an exponent only says the float is infinite or zero. */
const EXPONENT_CAP = 100_000

/**
 * How many bytes longer Python's json writes the float `json[start, end)` (a number with a fraction or an
 * exponent) than it is written: vLLM reads arguments with `json.loads` and the template writes them again with
 * `json.dumps`, a float as `repr` writes it: its shortest round-trip digits, in full with `.0` while its decimal
 * point is within 16 places (`1e15`, 4 bytes, becomes `1000000000000000.0`, 18), else with an exponent of two
 * digits at least (`1e-7` becomes `1e-07`), and `Infinity` past the largest float. Read from the text, not
 * parsed into a float: the digits it writes (up to 15 are the float's own), where its point falls, its exponent.
 */
function redumpedFloatGrowth(json: string, start: number, end: number): number {
  let i = start
  const sign = json.charCodeAt(i) === MINUS ? 1 : 0
  i += sign
  // Its digits, integer and fraction run together: the first and last that are not 0, and how many are before the point.
  let digits = 0
  let first = -1
  let last = -1
  let integerDigits = -1
  for (; i < end; i++) {
    const c = json.charCodeAt(i)
    if (isDigit(c)) {
      if (c !== DIGIT_0) {
        if (first === -1) first = digits
        last = digits
      }
      digits++
    } else if (c === DOT && integerDigits === -1) integerDigits = digits
    else break
  }
  if (integerDigits === -1) integerDigits = digits
  let exponent = 0
  if (i < end && (json.charCodeAt(i) === LOWER_E || json.charCodeAt(i) === UPPER_E)) {
    const negative = json.charCodeAt(++i) === MINUS
    if (json.charCodeAt(i) === MINUS || json.charCodeAt(i) === PLUS) i++
    for (; i < end && isDigit(json.charCodeAt(i)); i++) exponent = Math.min(EXPONENT_CAP, exponent * 10 + json.charCodeAt(i) - DIGIT_0)
    if (negative) exponent = -exponent
  }
  if (digits === 0) return 0
  let written: number
  if (first === -1) written = 3 // 0.0
  else {
    const significant = last - first + 1
    // The value is 0.<significant digits> × 10^point.
    const point = integerDigits - first + exponent
    written = floatReprLength(Math.min(significant, 17), point)
    // More than 15 digits, or past a normal float's range, the float's own digits may be fewer and round up a place.
    if (significant > 15 || point <= -307 || point >= 309) written = Math.max(written, floatReprLength(1, point + 1))
    if (point >= 309) written = Math.max(written, 'Infinity'.length)
  }
  return Math.max(0, sign + written - (end - start))
}

/** The length of Python's `repr` of a float of `digits` significant digits whose value is 0.<digits> × 10^point. */
function floatReprLength(digits: number, point: number): number {
  if (point > -4 && point <= 16) {
    if (point <= 0) return 2 - point + digits // 0.000ddd
    if (point < digits) return digits + 1 // ddd.ddd
    return point + 2 // ddd000.0
  }
  const exponent = Math.abs(point - 1)
  return digits + (digits > 1 ? 1 : 0) + 2 + (exponent >= 100 ? 3 : 2) // d.ddde+XX
}

/**
 * Inline media counts its bytes, never less than the media bound, and an inline PDF (`pdf`, its base64)
 * never less than its pages times the per-page bound plus the bytes of text its pages may show (a token is at
 * least one byte), or, when that text could not be read, as a file by
 * reference (`fileByReferenceTokens`) if more; media by reference has no data here and counts the media bound.
 */
function mediaTokens(bytes: number, media: MediaBounds, pdf: string | null = null): number {
  if (pdf === null) return Math.max(media.part, bytes)
  const read = readInlinePdf(pdf, media)
  const tokens = Math.max(media.part, bytes, read.pages * media.pdfPage + read.text)
  return read.textBounded ? tokens : Math.max(tokens, fileByReferenceTokens(bytes, media))
}

/**
 * An inline PDF's pages and text. Once the request's PDF work is spent, the rest count the unreadable bound,
 * their text unbounded, not even decoded: at most 3 bytes every 4 base64 characters.
 */
const readInlinePdf = (base64: string, media: MediaBounds): PdfRead =>
  Math.ceil(base64.length / 4) * 3 > media.pdfWork.left
    ? { pages: media.pdfMaxPages, text: 0, textBounded: false }
    : readPdf(Buffer.from(base64, 'base64'), media.pdfMaxPages, media.pdfWork)

/**
 * A file by reference (a file id, a URL): its bytes are not here, and the provider may find a PDF there,
 * billed per page. Without hard bounds it counts the media bound. With them, the request's first such file is
 * held for the most pages a request may carry (providers limit a request's PDF pages across all its files:
 * Anthropic to 600, or 100 below a 1M window), or for the context window the request opens if larger (a text
 * file is bounded by nothing else), and the others the media bound on top; where the provider refuses a prompt
 * past its window, the request's files and media are held no more than that window (`billableInput`).
 */
function fileByReferenceTokens(bytes: number, media: MediaBounds): number {
  const tokens = Math.max(media.part, bytes, media.filePdfTokens)
  media.filePdfTokens = 0
  return tokens
}

const declaresPdf = (label: unknown) =>
  typeof label === 'string' && (/^\s*application\/pdf\s*$/i.test(label) || /\.pdf\s*$/i.test(label))

/**
 * An inline file's base64 when it is a PDF: declared one (by media type or file name), or starting as one
 * does. `data` is base64, bare or in a data URL. Only its first kilobyte is decoded here.
 */
function inlinePdf(data: unknown, ...labels: unknown[]): string | null {
  if (typeof data !== 'string') return null
  const { base64, mediaType } = inlineBase64(data)
  // PDF readers accept the header anywhere in the first kilobyte: 1,368 base64 characters are 1,026 bytes.
  if (!declaresPdf(mediaType) && !labels.some(declaresPdf) && !decodedHead(base64, 1368).includes('%PDF-')) return null
  return base64
}

const declaresOfficeDocument = (label: unknown) =>
  typeof label === 'string' &&
  (/^\s*application\/vnd\.(openxmlformats-officedocument|oasis\.opendocument)\./i.test(label) || /\.((doc|ppt|xls)[xm]|od[tsp])\s*$/i.test(label))

/**
 * Whether an inline file is a ZIP: an office document (.docx, .pptx, .xlsx, OpenDocument) declared by media type
 * or file name, or any file starting as a ZIP does (`PK\x03\x04`). Its text is deflated, so its bytes do not bound
 * what the provider extracts (a 5 KB .docx carries 1.2 MB of text): it is bounded as a file by reference is.
 */
function inlineZip(data: unknown, ...labels: unknown[]): boolean {
  if (typeof data !== 'string' || data === '') return false
  const { base64, mediaType } = inlineBase64(data)
  if (declaresOfficeDocument(mediaType) || labels.some(declaresOfficeDocument)) return true
  const head = decodedHead(base64, 8)
  return head.length >= 4 && head.readUInt32LE(0) === 0x04034b50
}

/** The PDF a chat `file` part or a Responses `input_file` part sends inline, or an image part as a data URL, if any. */
function partPdf(part: Record<string, unknown>): string | null {
  const file = partFile(part)
  if (file) return inlinePdf(inlineFileData(file), file.filename)
  const image = partImage(part)
  return image && isDataUrl(image.url) ? inlinePdf(image.url, image.format) : null
}

/**
 * Whether a URL's path names a document LiteLLM sends Gemini an image URL as (`_get_image_mime_type_from_url`): a
 * PDF, or a text file (`.txt`: `text/plain`), which Gemini reads whole.
 */
const namesDocument = (path: string) => declaresPdf(path) || /\.txt\s*$/i.test(path)

/**
 * Whether an image part's LiteLLM `format` declares something other than an image: LiteLLM sends Gemini the link
 * with that type, and Gemini reads a document whole, its list of them longer than PDF and `text/…`
 * (`application/x-javascript`, `application/x-python`…). An empty `format` is none: LiteLLM goes by the URL then.
 */
const formatNotImage = (format: unknown) => typeof format === 'string' && format.trim() !== '' && !/^\s*image\//i.test(format)

/** Whether an image part names a document by URL (its path ends `.pdf` or `.txt`, or its `format` is no image's): a file by reference. */
function partImageDocumentByReference(part: Record<string, unknown>): boolean {
  const image = partImage(part)
  return image !== null && !isDataUrl(image.url) && (namesDocument(urlPath(image.url)) || formatNotImage(image.format))
}

/** Whether a chat `file` part or a Responses `input_file` part sends a ZIP inline (`inlineZip`). */
function partZip(part: Record<string, unknown>): boolean {
  const file = partFile(part)
  return file ? inlineZip(inlineFileData(file), file.filename) : false
}

/** Whether an image part asks for `detail: "original"`, in a chat `image_url` or on the part (a Responses `input_image`): either may be the one read. */
const originalDetail = (part: Record<string, unknown>): boolean =>
  part.detail === 'original' || (part.image_url as { detail?: unknown } | null | undefined)?.detail === 'original'

/** The media keys a part carries: one set to null (a serializer writing every field) carries none. */
const mediaKeys = (part: Record<string, unknown>): string[] => Object.keys(part).filter((key) => MEDIA_KEY.test(key) && part[key] !== null)

/**
 * Whether a part is text and nothing else: a string, or a part of a text type (or of none) that carries no media
 * key, or a thinking part whose thought is a list of such parts: Mistral's reasoning models answer
 * `{type: "thinking", thinking: [{type: "text", text}]}`, and clients send it back on the next turn. Anthropic's
 * thinking (a string and a `signature`) is not: Claude 4 shows a summary and bills the thinking the signature
 * carries. With hard bounds, any other part is media the estimate cannot size (`unknownPartTokens`).
 */
function isPlainTextPart(part: unknown): boolean {
  if (part === null || typeof part !== 'object') return true
  const p = part as Record<string, unknown>
  if (mediaKeys(p).length > 0) return false
  if (p.type === 'thinking') return Array.isArray(p.thinking) && p.signature === undefined && p.thinking.every(isPlainTextPart)
  return p.type === undefined || TEXT_PART_TYPES.has(p.type as string)
}

/**
 * A part that is not plainly text, with hard bounds: media spelled as text (vLLM's `{type: "text", uuid, video_url}`)
 * or a type the gateway does not know, which a server may read as media. Held as media is (`heldAsBound`, so the
 * request's input is charged whole): a part that may carry video, audio or a document as a file by reference, any
 * other the media bound, its bytes if more.
 */
function unknownPartTokens(part: Record<string, unknown>, media: MediaBounds): number {
  const bytes = textBytes(part)
  const byReference = mediaKeys(part).some((key) => TIMED_OR_FILE_KEY.test(key))
  return heldAsBound(byReference ? fileByReferenceTokens(bytes, media) : Math.max(media.part, bytes), media)
}

/**
 * A part: media and files as `mediaTokens` says (or, by reference, a file, a video, audio or document by URL, a PDF
 * or text file by image URL, an inline ZIP, and video or audio sent as an image or a file (`partIsTimedMedia`), as
 * `fileByReferenceTokens` says, if more), an image at `detail: "original"` never less than `originalImage`,
 * text by its bytes, and with hard bounds any other part as `unknownPartTokens` says.
 */
function partTokens(part: unknown, media: MediaBounds): number {
  if (!isMediaPart(part))
    return media.hardBounds && !isPlainTextPart(part) ? unknownPartTokens(part as Record<string, unknown>, media) : textBytes(part)
  const p = part as Record<string, unknown>
  const bytes = textBytes(p)
  let tokens = mediaTokens(bytes, media, partPdf(p))
  // A part that names a file and carries data too: the larger of the two, whichever one the provider reads.
  if (BY_REFERENCE_PART_TYPES.has(p.type as string) || partFileByReference(p) || partZip(p) || partImageDocumentByReference(p) || partIsTimedMedia(p)) tokens = Math.max(tokens, fileByReferenceTokens(bytes, media))
  return heldAsBound(originalDetail(p) ? Math.max(tokens, media.originalImage) : tokens, media)
}

/**
 * A message's content or a tool result's output: a string, parts, or one part on its own (a
 * `computer_call_output`'s screenshot is one object).
 */
function contentTokens(content: unknown, media: MediaBounds): number {
  if (typeof content === 'string') return utf8(content)
  if (!Array.isArray(content)) return partTokens(content, media)
  let n = 0
  for (const part of content) n += partTokens(part, media)
  return n
}

/**
 * Files a message names in its text, to a model that reads them (`readsFileIdUrls`): DashScope's Qwen-Long and
 * Qwen-Doc-Turbo read `fileid://file-fe-…` (several comma-separated) in a system message as files uploaded to its
 * Files API, and bill each file's whole content as input on every call. Each is a file by reference
 * (`fileByReferenceTokens`), counted wherever a message's text names it.
 */
function filesNamedInText(content: unknown, media: MediaBounds): number {
  let n = 0
  const count = (text: unknown) => {
    if (typeof text !== 'string') return
    for (let at = text.indexOf(FILE_ID_URL); at !== -1; at = text.indexOf(FILE_ID_URL, at + FILE_ID_URL.length)) n += heldAsBound(fileByReferenceTokens(0, media), media)
  }
  if (Array.isArray(content)) for (const part of content) count((part as { text?: unknown } | null)?.text)
  else count(content)
  return n
}
const FILE_ID_URL = 'fileid://'

/**
 * A tool's result: text as the JSON string a chat template writes it (Llama 3.1–3.3's `message.content | tojson`),
 * its escapes counted, since a control character sent as 1 byte is rendered `\u0001`, three tokens, and on TGI an
 * HTML `<` as `\u003c` (`tojsonBytes`); parts as `contentTokens` counts them (their text inside their JSON already).
 */
const toolResultTokens = (content: unknown, media: MediaBounds): number =>
  typeof content === 'string' ? tojsonBytes(JSON.stringify(content)) : contentTokens(content, media)

/**
 * A tool call's `arguments` beyond its escaped bytes (counted with the rest of its message or item): vLLM parses
 * the JSON string into a value for the chat template, which writes it again with `tojson`, separators and all,
 * and numbers as Python writes them (`templateRewriteTokens`).
 */
const argumentsTokens = (args: unknown): number => (typeof args === 'string' ? templateRewriteTokens(args) : 0)

/** The `arguments` of a chat message's tool calls (and its legacy `function_call`), as `argumentsTokens` counts them. */
function toolCallArgumentsTokens(message: Record<string, unknown>): number {
  let n = argumentsTokens((message.function_call as { arguments?: unknown } | null | undefined)?.arguments)
  if (Array.isArray(message.tool_calls))
    for (const call of message.tool_calls) n += argumentsTokens((call as { function?: { arguments?: unknown } } | null)?.function?.arguments)
  return n
}

/** A max output a request set, or undefined when it set none that bounds anything. */
const validMax = (max: unknown): number | undefined => (typeof max === 'number' && Number.isFinite(max) && max > 0 ? Math.ceil(max) : undefined)

/** Output bound shared by both wire formats: the request's max, times the number of choices. */
export function outputBound(max: unknown, choices: unknown, defaultMax: number): number {
  const perChoice = validMax(max) ?? defaultMax
  const n = typeof choices === 'number' && Number.isInteger(choices) && choices > 1 ? choices : 1
  return perChoice * n
}

/**
 * The output max per choice a chat request's hold covers. Both fields go upstream as they came, and
 * servers differ in the one they read (OpenAI, vLLM, SGLang and Groq read `max_completion_tokens` first,
 * Ollama only `max_tokens`), so when both are set the hold covers the larger.
 */
function chatHeldMaxTokens(body: Record<string, unknown>): number | undefined {
  const completion = validMax(body.max_completion_tokens)
  const legacy = validMax(body.max_tokens)
  return completion === undefined || legacy === undefined ? (completion ?? legacy) : Math.max(completion, legacy)
}

/**
 * The top-level bytes a request sends besides its messages: every field but `skip` (the messages or input items,
 * counted part by part, and the settings that steer the call without reaching the model as text). Unknown fields
 * count: a provider feature the gateway does not know yet may well add input.
 */
function otherFieldTokens(body: Record<string, unknown>, skip: ReadonlySet<string>): number {
  let n = 0
  for (const field in body) if (!skip.has(field)) n += textBytes(body[field])
  return n
}

const CHAT_SETTINGS = new Set([
  'model', 'messages', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'n', 'user', 'temperature', 'top_p',
  'seed', 'presence_penalty', 'frequency_penalty', 'logprobs', 'top_logprobs', 'logit_bias', 'parallel_tool_calls', 'store',
  'service_tier', 'metadata',
])

/**
 * The chat roles a template writes as text. Any other role's content is held as a tool result (`toolResultTokens`):
 * Llama 3.1–3.3's and Llama 4's templates write `tool` and `ipython` alike with `| tojson`, vLLM takes any role
 * string and so does the gateway, and the escaped form is never smaller than the raw one.
 */
const TEXT_ROLES = new Set(['system', 'user', 'assistant', 'developer'])

/** OpenAI Chat Completions: every message, every field that reaches the model, the tool-use and template allowances. */
export function estimateChat(body: Record<string, unknown>, o: EstimateOptions): TokenEstimate {
  const media = mediaBounds(o)
  let input = 0
  const messages = Array.isArray(body.messages) ? body.messages : []
  for (const m of messages) {
    const { content, audio, ...rest } = (m ?? {}) as Record<string, unknown>
    const text = TEXT_ROLES.has(rest.role as string) ? contentTokens(content, media) : toolResultTokens(content, media)
    input += PER_MESSAGE_OVERHEAD + text + (o.readsFileIdUrls ? filesNamedInText(content, media) : 0) + textBytes(rest) + toolCallArgumentsTokens(rest)
    // An earlier audio answer named by id (`{role: 'assistant', audio: {id}}`): the provider reads it again, as audio
    // input. Its length is not here: the media bound, or with hard bounds the longest answer.
    if (audio != null) input += heldAsBound(Math.max(media.audioAnswer, textBytes(audio)), media)
  }
  input += otherFieldTokens(body, CHAT_SETTINGS) + toolUseOverhead(body.tools, body.functions) + (o.templateOverheadTokens ?? 0)
  return {
    inputTokens: billableInput(input, o, media),
    outputTokens: outputBound(chatHeldMaxTokens(body), body.n, o.defaultMaxOutputTokens),
    boundsInput: media.guessed === 0,
  }
}

/**
 * Tokens an embedding server adds to every input, unseen in the body, and bills in `prompt_tokens`: the
 * model's special tokens. BERT-type models (bge, e5, gte, nomic-embed, MiniLM) frame each input as
 * [CLS] … [SEP], XLM-RoBERTa ones (bge-m3, multilingual-e5, jina-v3) as <s> … </s>: 2 tokens; decoder-based
 * ones (Qwen3-Embedding, gte-Qwen2, e5-mistral) add an end-of-text token, and at most a start one: 1 or 2.
 * vLLM, Ollama and TEI report them, so 1,000 one-letter inputs bill 3,000 tokens, and an empty string 2.
 * Chat's per-message overhead bounds this with room (a server's own template adds a few more at most).
 */
export const PER_EMBEDDING_INPUT_OVERHEAD = PER_MESSAGE_OVERHEAD

const EMBEDDINGS_SETTINGS = new Set(['model', 'input', 'encoding_format', 'dimensions', 'user'])

/**
 * OpenAI Embeddings: each input (a string, or one array of token ids) counts the overhead, plus a string's UTF-8
 * bytes, or a token array's entries, one token each (they are tokens already, but a server may still frame them
 * with its special tokens); with hard bounds, a string that names media counts as a media part
 * (`embeddingStringTokens`); and every other field the settings leave, by its bytes, as on chat: a server's own
 * field may add input (an instruction it puts before each text). Nothing is generated.
 */
export function estimateEmbeddings(body: Record<string, unknown>, o: EstimateOptions): TokenEstimate {
  return {
    inputTokens: embeddingInputTokens(body.input, o.hardBounds ? o.mediaPartTokens : 0) + otherFieldTokens(body, EMBEDDINGS_SETTINGS),
    outputTokens: 0,
  }
}

function embeddingInputTokens(input: unknown, mediaPart: number): number {
  // A list of strings or of token arrays is that many inputs; a string, or a single token array, is one.
  const inputs = Array.isArray(input) && input.some((item) => typeof item !== 'number') ? input : [input]
  let n = 0
  for (const item of inputs)
    n += PER_EMBEDDING_INPUT_OVERHEAD + (typeof item === 'string' ? embeddingStringTokens(item, mediaPart) : Array.isArray(item) ? item.length : 0)
  return n
}

const NAMES_MEDIA = /^(data:|gs:\/\/|https?:\/\/|files\/)/i

/**
 * An embeddings input string. A multimodal embedding server may read one as media, not text: LiteLLM serving Gemini
 * Embedding 2 embeds what a data URL, a `gs://` or http(s) URL or a Gemini `files/…` reference names (an image,
 * audio, a PDF, a video of up to 120 s: ~31,560 tokens for a 12-byte reference). With hard bounds such a string
 * counts as a media part, its bytes if more (`mediaPart`; 0 without them: a text model reads a URL as its text,
 * and the bound would only over-hold it).
 */
const embeddingStringTokens = (text: string, mediaPart: number): number =>
  mediaPart > 0 && NAMES_MEDIA.test(text) ? Math.max(mediaPart, utf8(text)) : utf8(text)

/** Moderation and audio are priced per request: the hold is that price and no tokens. */
export const perRequestEstimate = (): TokenEstimate => ({ inputTokens: 0, outputTokens: 0 })

/**
 * An Anthropic content block. An image counts its inline bytes, never less than the media bound (with hard
 * bounds, `anthropicImage`); a
 * document counts its inline data (text, blocks, or base64 bytes, never less than the media bound, and
 * a PDF never less than its pages times the per-page bound) or, sent by reference (URL, file id), as
 * `fileByReferenceTokens` says, plus its title and context; a tool result counts its blocks the same way, its
 * text as `toolResultTokens` says.
 */
function anthropicBlockTokens(block: unknown, media: MediaBounds): number {
  if (!block || typeof block !== 'object') return textBytes(block)
  const { type, source, content, ...rest } = block as Record<string, unknown>
  if (type === 'image') return heldAsBound(Math.max(mediaTokens(textBytes(source), media), media.anthropicImage), media) + textBytes(rest)
  if (type === 'document') return documentSourceTokens((source ?? {}) as Record<string, unknown>, media) + textBytes(rest)
  const inner = type === 'tool_result' && typeof content === 'string' ? toolResultTokens(content, media) : anthropicContentTokens(content, media)
  return textBytes(type) + textBytes(source) + inner + textBytes(rest)
}

const isBlock = (value: unknown): boolean => typeof (value as { type?: unknown } | null)?.type === 'string'

function documentSourceTokens(src: Record<string, unknown>, media: MediaBounds): number {
  switch (src.type) {
    case 'text': return textBytes(src.data)
    case 'content': return anthropicContentTokens(src.content, media)
    case 'base64': return heldAsBound(mediaTokens(textBytes(src.data), media, inlinePdf(src.data, src.media_type)), media)
    case 'url':
    case 'file': return heldAsBound(fileByReferenceTokens(0, media), media)
    default: return heldAsBound(media.part, media)
  }
}

/**
 * Anthropic content: a string, blocks, or one block on its own (a `web_fetch_tool_result`'s content is one
 * `web_fetch_result`, whose own content is the fetched `document`), counted as a block is, so a PDF there
 * counts its pages.
 */
function anthropicContentTokens(content: unknown, media: MediaBounds): number {
  if (!Array.isArray(content)) return isBlock(content) ? anthropicBlockTokens(content, media) : textBytes(content)
  let n = 0
  for (const block of content) n += anthropicBlockTokens(block, media)
  return n
}

const MESSAGES_SETTINGS = new Set(['model', 'messages', 'system', 'max_tokens', 'stream', 'metadata', 'temperature', 'top_p', 'top_k', 'service_tier', 'thinking'])

/**
 * Anthropic Messages: `system`, every message's blocks, tool definitions, the tool-use allowance and the
 * hidden input of Anthropic-defined tools (in `tools` or defined in the conversation); output is the required
 * `max_tokens`.
 */
export function estimateMessages(body: Record<string, unknown>, o: EstimateOptions): TokenEstimate {
  const media = mediaBounds(o)
  let input = anthropicContentTokens(body.system, media)
  const messages = Array.isArray(body.messages) ? body.messages : []
  for (const m of messages) {
    const { content, ...rest } = (m ?? {}) as Record<string, unknown>
    input += PER_MESSAGE_OVERHEAD + anthropicContentTokens(content, media) + textBytes(rest)
  }
  // Tools defined in the conversation are offered as those in `tools` are, and Anthropic adds the same hidden input.
  const tools = anthropicToolsOffered(body)
  input += otherFieldTokens(body, MESSAGES_SETTINGS) + toolUseOverhead(tools) + anthropicDefinedToolTokens(tools)
  return { inputTokens: billableInput(input, o, media), outputTokens: outputBound(body.max_tokens, 1, o.defaultMaxOutputTokens), boundsInput: media.guessed === 0 }
}

const RESPONSES_SETTINGS = new Set([
  'model', 'input', 'stream', 'stream_options', 'max_output_tokens', 'max_tool_calls', 'temperature', 'top_p', 'top_logprobs',
  'user', 'safety_identifier', 'prompt_cache_key', 'prompt_cache_retention', 'store', 'metadata', 'include', 'reasoning',
  'service_tier', 'parallel_tool_calls', 'background', 'truncation', 'previous_response_id', 'conversation',
])

/**
 * The image an `image_generation_call` item carries (its `result`, base64), which the provider reads back as an
 * image input when the item is in a later request's context (OpenAI's multi-turn image editing).
 */
const generatedImage = (item: Record<string, unknown>): string | undefined =>
  item.type === 'image_generation_call' && typeof item.result === 'string' ? item.result : undefined

/**
 * One Responses API input item: a message's content as chat parts are counted (`input_image` the media
 * bound, `input_file` its inline bytes or, a PDF, its pages), a tool result's output (and a code interpreter
 * call's `outputs`, its images among them) the same way (text as `toolResultTokens` says), a generated image as
 * an inline image is, and every other item (a function call, its arguments as `argumentsTokens` says, a reasoning
 * item with its encrypted content, an MCP call with what its server answered) by the bytes of its fields.
 */
function responsesItemTokens(item: unknown, media: MediaBounds): number {
  if (!item || typeof item !== 'object') return PER_MESSAGE_OVERHEAD + textBytes(item)
  const { content, output, outputs, ...rest } = item as Record<string, unknown>
  const tool = toolResultTokens(output, media) + contentTokens(outputs, media) + argumentsTokens(rest.arguments)
  const image = generatedImage(rest)
  if (image === undefined) return PER_MESSAGE_OVERHEAD + contentTokens(content, media) + tool + textBytes(rest)
  const { result: _, ...fields } = rest
  return PER_MESSAGE_OVERHEAD + contentTokens(content, media) + tool + heldAsBound(mediaTokens(utf8(image), media), media) + textBytes(fields)
}

/**
 * A Responses item as input, on its own: what the provider puts in the context when a later request names an
 * item of a stored response's output by reference. Some of those carry what a tool brought in, which the
 * provider billed as that response's input, not its output (an MCP call's answer, a tool listing, a file
 * search's results, code interpreter output, a generated image): sized as the same item sent inline.
 */
export const responsesItemInputTokens = (item: unknown, o: EstimateOptions): number => responsesItemTokens(item, mediaBounds(o))

/**
 * How many media and file parts Responses items carry, where `responsesItemTokens` reads them (a message's
 * content, a tool result's output, a code interpreter call's outputs, a generated image): what a stored context
 * holds that another model may bill at its own rate.
 */
export function responsesMediaParts(items: unknown): number {
  if (!Array.isArray(items)) return 0
  let n = 0
  for (const item of items)
    if (item && typeof item === 'object') {
      const { content, output, outputs } = item as Record<string, unknown>
      n += mediaPartsIn(content) + mediaPartsIn(output) + mediaPartsIn(outputs) + responsesGeneratedImages([item])
    }
  return n
}

/**
 * How many generated images Responses items carry (`image_generation_call` items with their `result`): a
 * response's usage never counts them (the image tool made them, billed per image), yet a request continuing it
 * has the provider read each again as an image input.
 */
export const responsesGeneratedImages = (items: unknown): number =>
  Array.isArray(items) ? items.filter((item) => item && typeof item === 'object' && generatedImage(item) !== undefined).length : 0

/** As `contentTokens` reads content: parts, or one part on its own. */
const mediaPartsIn = (content: unknown): number => (Array.isArray(content) ? content.filter(isMediaPart).length : isMediaPart(content) ? 1 : 0)

/**
 * OpenAI Responses: `input` (a string, or items of every type), every field that reaches the model (instructions,
 * tools and the tool-use allowance, the output format, a stored prompt's variables, fields the gateway does not
 * know: vLLM's `previous_input_messages` are earlier turns); plus `contextTokens`, the stored context a
 * `previous_response_id` brings in (its input and output, as the provider reported them), which the body does not
 * show; and the template allowance. Output is `max_output_tokens` or the default.
 */
export function estimateResponses(body: Record<string, unknown>, o: EstimateOptions & { contextTokens?: number }): TokenEstimate {
  const media = mediaBounds(o)
  let input = o.contextTokens ?? 0
  if (typeof body.input === 'string') input += PER_MESSAGE_OVERHEAD + utf8(body.input)
  else if (Array.isArray(body.input)) for (const item of body.input) input += responsesItemTokens(item, media)
  input += otherFieldTokens(body, RESPONSES_SETTINGS) + toolUseOverhead(responsesRequestTools(body)) + (o.templateOverheadTokens ?? 0)
  return { inputTokens: billableInput(input, o, media), outputTokens: outputBound(body.max_output_tokens, 1, o.defaultMaxOutputTokens), boundsInput: media.guessed === 0 }
}
