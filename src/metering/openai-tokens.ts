/**
 * Token counts of a chat request as OpenAI's current models read it, for `count_tokens` on a model served
 * by an OpenAI-compatible provider (which has no counting endpoint). The o200k_base encoding is that of
 * GPT-4o, GPT-4.1, GPT-5 and the o-series; for other models behind an OpenAI-compatible server (Llama,
 * Qwen, Mistral…) it is an approximation, as every tokenizer but the model's own is. Each message adds
 * OpenAI's documented overhead (3 tokens, and 3 more priming the reply); an image part counts what OpenAI
 * charges for a 1024×1024 image at high detail; tool definitions count as their JSON.
 *
 * The count runs on the thread that answers every request, so its work is bounded. gpt-tokenizer's byte-pair
 * merge is quadratic in the length of one pre-token (a word, a run of punctuation or of whitespace): one
 * "word" of 60,000 letters took 4 s, of 160,000 86 s. So text reaches it in pieces, cut where a pre-token
 * ends whatever follows (which changes no count) and, in a run of MAX_RUN characters with no such place,
 * every MAX_RUN characters (which may change the count by about a token a cut); the counting yields to
 * other requests between slices. Only a request's first EXACT_BYTES bytes of text are counted so: the rest
 * counts its UTF-8 bytes, an upper bound (every token is at least one byte) found in linear time.
 */
/** Lets other requests' work run between pieces (a timer's 1 ms each would add up over a long text). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

const PER_MESSAGE = 3
const REPLY_PRIMING = 3
export const IMAGE_TOKENS = 765

/** Longer than o200k's longest token (128 characters), short enough for the quadratic merge to be cheap. */
const MAX_RUN = 256
/**
 * The text (UTF-8) of a request counted by the tokenizer: about 125,000 tokens of English; in the costliest
 * text for it (random letters or CJK, a few µs a byte) one to two seconds of CPU on a loaded core.
 */
export const EXACT_BYTES = 500_000
/** About the text handed to the tokenizer in one call, and counted between two yields to other requests. */
const PIECE_CHARS = 4096

type Json = Record<string, any>
type Count = (text: string) => number

/** The encoding's tables (several MB) load on the first count, not at startup. */
let encoder: Promise<Count> | undefined
/** A special token's name in a request (`<|endoftext|>`) is text, as OpenAI's API reads it: not an error. */
const asText = { disallowedSpecial: new Set<string>() }
const tokenizer = () => (encoder ??= import('gpt-tokenizer/encoding/o200k_base').then((m) => (text: string) => m.countTokens(text, asText)))

export async function countChatTokens(chat: Json): Promise<number> {
  const count = new BoundedCount(await tokenizer())
  let n = REPLY_PRIMING
  for (const m of Array.isArray(chat.messages) ? (chat.messages as Json[]) : []) {
    n += PER_MESSAGE + (await count.tokens(String(m.role ?? '')))
    n += await contentTokens(m.content, count)
    if (Array.isArray(m.tool_calls)) n += await count.tokens(JSON.stringify(m.tool_calls))
    if (typeof m.tool_call_id === 'string') n += await count.tokens(m.tool_call_id)
  }
  if (Array.isArray(chat.tools)) n += await count.tokens(JSON.stringify(chat.tools))
  if (chat.response_format) n += await count.tokens(JSON.stringify(chat.response_format))
  return n
}

async function contentTokens(content: unknown, count: BoundedCount): Promise<number> {
  if (typeof content === 'string') return count.tokens(content)
  if (!Array.isArray(content)) return 0
  let n = 0
  for (const part of content as Json[]) {
    if (part?.type === 'text') n += await count.tokens(String(part.text ?? ''))
    else if (part?.type === 'image_url') n += IMAGE_TOKENS
    else n += await count.tokens(JSON.stringify(part))
  }
  return n
}

/** One request's texts, counted in order: by the tokenizer, in pieces, for EXACT_BYTES bytes; by bytes after. */
class BoundedCount {
  private exactLeft = EXACT_BYTES
  private sinceYield = 0

  constructor(private readonly bpe: Count) {}

  async tokens(text: string): Promise<number> {
    const bytes = Buffer.byteLength(text)
    let exact = text
    let n = 0
    if (bytes > this.exactLeft) {
      // Never splits a character: `read` ends before the first one that does not fit whole.
      const { read, written } = new TextEncoder().encodeInto(text, new Uint8Array(this.exactLeft))
      exact = text.slice(0, read)
      n += bytes - written
      this.exactLeft -= written
    } else this.exactLeft -= bytes
    for (const piece of bpePieces(exact)) {
      n += this.bpe(piece)
      this.sinceYield += piece.length
      if (this.sinceYield >= PIECE_CHARS) {
        this.sinceYield = 0
        await nextTurn()
      }
    }
    return n
  }
}

/**
 * `text` in pieces of about PIECE_CHARS, none holding more than MAX_RUN characters between two places where
 * o200k's pre-tokenizer must end a token; a run longer than that is cut every MAX_RUN characters.
 */
function* bpePieces(text: string): Generator<string> {
  let start = 0
  let lastEnd = 0
  for (let i = 1; i < text.length; i++) {
    if (preTokenEndsBefore(text, i)) {
      lastEnd = i
      if (i - start >= PIECE_CHARS) {
        yield text.slice(start, i)
        start = i
      }
    } else if (i - lastEnd >= MAX_RUN && !isLowSurrogate(text.charCodeAt(i))) {
      yield text.slice(start, i)
      start = lastEnd = i
    }
  }
  if (start < text.length) yield text.slice(start)
}

const OTHER = 0
const LETTER = 1
const DIGIT = 2
const APOSTROPHE = 0x27
/** The letters after an apostrophe that o200k keeps with the word before it ('s, 't, 're, 've, 'm, 'll, 'd). */
const CONTRACTION_START = /^[stdmlvr]$/i
const asciiKind = (c: number) => (c >= 0x30 && c <= 0x39 ? DIGIT : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a ? LETTER : OTHER)

/**
 * Whether a pre-token ends between `text[i - 1]` and `text[i]`, whatever surrounds them: after an ASCII letter
 * (a word, which only a letter, a mark or an apostrophe's contraction continues) or an ASCII digit (a group of
 * digits), before an ASCII character of another kind that begins no contraction. The regex has no look-behind,
 * so the text from `i` on splits as it would whole: cutting there leaves the count as it was.
 */
function preTokenEndsBefore(text: string, i: number): boolean {
  const before = asciiKind(text.charCodeAt(i - 1))
  const at = text.charCodeAt(i)
  if (before === OTHER || at >= 0x80 || asciiKind(at) === before) return false
  return at !== APOSTROPHE || before === DIGIT || !CONTRACTION_START.test(text.charAt(i + 1))
}

const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff
