/**
 * The token counter's thread: o200k_base's rank tables (a 2.4 MB module whose evaluation builds them, ~1–2.4 s of
 * CPU and ~65 MB) load here when the thread starts, and every count runs here, so that neither holds the thread
 * that answers requests. One message, one answer, matched by id; several counts may be in flight, and each lets
 * the others run between its pieces (a long text cannot hold the thread for the whole of its count).
 */
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { bpePieces, PIECE_CHARS } from './bpe-pieces'

declare const self: Worker

/**
 * Texts to count, each on its own (their sum is the answer); together at most EXACT_BYTES (openai-tokens.ts). Or
 * the count `id` cancelled: its client went away; it stops at its next piece and is not answered.
 */
export type TokenizerRequest = { id: number; texts: string[] } | { id: number; cancel: true }

export type TokenizerReply = { id: number; tokens: number } | { id: number; error: string }

/** A special token's name in a request (`<|endoftext|>`) is text, as OpenAI's API reads it: not an error. */
const asText = { disallowedSpecial: new Set<string>() }

/** Lets the other counts in flight run between pieces (a timer's 1 ms each would add up over a long text). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

/** The counts in flight here; a cancelled one is taken out and stops at its next piece. */
const running = new Set<number>()

/** The tokens of `texts`; null when the count was cancelled meanwhile. */
async function tokens(id: number, texts: string[]): Promise<number | null> {
  let n = 0
  let sinceYield = 0
  for (const text of texts) {
    for (const piece of bpePieces(text)) {
      n += countTokens(piece, asText)
      sinceYield += piece.length
      if (sinceYield >= PIECE_CHARS) {
        sinceYield = 0
        await nextTurn()
        if (!running.has(id)) return null
      }
    }
  }
  return n
}

self.onmessage = ({ data: request }: MessageEvent<TokenizerRequest>) => {
  const { id } = request
  if ('cancel' in request) return void running.delete(id)
  running.add(id)
  tokens(id, request.texts).then(
    (tokens) => {
      if (tokens !== null) self.postMessage({ id, tokens } satisfies TokenizerReply)
    },
    (error) => self.postMessage({ id, error: error instanceof Error ? error.message : String(error) } satisfies TokenizerReply),
  ).finally(() => running.delete(id))
}
