/**
 * Token counts of a chat request as OpenAI's current models read it, for `count_tokens` on a model served
 * by an OpenAI-compatible provider (which has no counting endpoint). The o200k_base encoding is that of
 * GPT-4o, GPT-4.1, GPT-5 and the o-series; for other models behind an OpenAI-compatible server (Llama,
 * Qwen, Mistral…) it is an approximation, as every tokenizer but the model's own is. Each message adds
 * OpenAI's documented overhead (3 tokens, and 3 more priming the reply); an image part counts what OpenAI
 * charges for a 1024×1024 image at high detail; tool definitions count as their JSON.
 *
 * The tokenizer's tables load, and the count runs, on a thread of its own (tokenizer-thread.ts): loading the
 * tables took 1–2.4 s of CPU, during which the thread that answers every request answered nobody. Its work is
 * bounded all the same, so that one request cannot hold it for long: only a request's first EXACT_BYTES bytes of
 * text are counted by the tokenizer, in pieces of bounded runs (bpe-pieces.ts); the rest counts its UTF-8 bytes,
 * an upper bound (every token is at least one byte) found here in linear time. What this thread does is linear:
 * gathering the texts, measuring their bytes, and handing the thread at most EXACT_BYTES of them.
 */
import { TokenizerThread } from './tokenizer-thread'

const PER_MESSAGE = 3
const REPLY_PRIMING = 3
const IMAGE_TOKENS = 765

/**
 * The text (UTF-8) of a request counted by the tokenizer: about 125,000 tokens of English; in the costliest
 * text for it (random letters or CJK, a few µs a byte) one to two seconds of CPU on a loaded core.
 */
export const EXACT_BYTES = 500_000

type Json = Record<string, any>

/** The process's one tokenizer thread, started by its first count. */
const tokenizer = new TokenizerThread()

export async function countChatTokens(chat: Json, signal?: AbortSignal): Promise<number> {
  const texts = new BoundedTexts()
  let n = REPLY_PRIMING
  for (const m of Array.isArray(chat.messages) ? (chat.messages as Json[]) : []) {
    n += PER_MESSAGE
    texts.add(String(m.role ?? ''))
    n += addContent(m.content, texts)
    if (Array.isArray(m.tool_calls)) texts.add(JSON.stringify(m.tool_calls))
    if (typeof m.tool_call_id === 'string') texts.add(m.tool_call_id)
  }
  if (Array.isArray(chat.tools)) texts.add(JSON.stringify(chat.tools))
  if (chat.response_format) texts.add(JSON.stringify(chat.response_format))
  return n + texts.beyondBytes + (texts.exact.length > 0 ? await tokenizer.count(texts.exact, signal) : 0)
}

/** Adds a message content's texts; returns the tokens of its images, which are no text. */
function addContent(content: unknown, texts: BoundedTexts): number {
  if (typeof content === 'string') {
    texts.add(content)
    return 0
  }
  if (!Array.isArray(content)) return 0
  let images = 0
  for (const part of content as Json[]) {
    if (part?.type === 'text') texts.add(String(part.text ?? ''))
    else if (part?.type === 'image_url') images += IMAGE_TOKENS
    else texts.add(JSON.stringify(part))
  }
  return images
}

/** One request's texts, in order: the first EXACT_BYTES bytes of them for the tokenizer; the bytes of the rest. */
class BoundedTexts {
  readonly exact: string[] = []
  beyondBytes = 0
  private exactLeft = EXACT_BYTES

  add(text: string) {
    const bytes = Buffer.byteLength(text)
    let exact = text
    if (bytes > this.exactLeft) {
      // Never splits a character: `read` ends before the first one that does not fit whole.
      const { read, written } = new TextEncoder().encodeInto(text, new Uint8Array(this.exactLeft))
      exact = text.slice(0, read)
      this.beyondBytes += bytes - written
      this.exactLeft -= written
    } else this.exactLeft -= bytes
    if (exact) this.exact.push(exact)
  }
}
