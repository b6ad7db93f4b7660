import { clientClosedRequest, tokenizerUnavailable } from '../http/errors'
import type { TokenizerReply, TokenizerRequest } from './tokenizer-worker'

/** Beside this file in the source tree, as the container image and every TOLLGATE_WORKERS process run it. */
const WORKER_URL = new URL('./tokenizer-worker.ts', import.meta.url).href

/**
 * The token counter's thread (tokenizer-worker.ts), started by the first count rather than at startup (an install
 * that never counts never loads the tables) and kept for the process's life; unref'd, so it never holds a stop.
 * A thread that fails to start or ends refuses the counts waiting on it (503 tokenizer_unavailable) rather than
 * leave them hanging; the next count starts a new one.
 */
export class TokenizerThread {
  private worker: Worker | undefined
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (tokens: number) => void; reject: (error: Error) => void }>()

  constructor(private readonly url = WORKER_URL) {}

  /**
   * The tokens of `texts`, each counted on its own, summed. A count whose client goes away (`signal`) is dropped,
   * here and in the thread (between two pieces), so that no one's count waits behind it.
   */
  count(texts: string[], signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) return Promise.reject(clientClosedRequest())
    let worker: Worker
    try {
      worker = this.worker ??= this.start()
    } catch (error) {
      console.error('[tollgate] the tokenizer thread could not be started', error)
      return Promise.reject(tokenizerUnavailable())
    }
    const id = this.nextId++
    return new Promise<number>((resolve, reject) => {
      const dropped = () => {
        if (!this.pending.delete(id)) return
        worker.postMessage({ id, cancel: true } satisfies TokenizerRequest)
        reject(clientClosedRequest())
      }
      const settled = () => signal?.removeEventListener('abort', dropped)
      this.pending.set(id, {
        resolve: (tokens) => (settled(), resolve(tokens)),
        reject: (error) => (settled(), reject(error)),
      })
      signal?.addEventListener('abort', dropped, { once: true })
      worker.postMessage({ id, texts } satisfies TokenizerRequest)
    })
  }

  private start(): Worker {
    const worker = new Worker(this.url)
    worker.onmessage = ({ data: reply }: MessageEvent<TokenizerReply>) => {
      const waiting = this.pending.get(reply.id)
      if (!waiting) return
      this.pending.delete(reply.id)
      if ('error' in reply) waiting.reject(new Error(`token count failed: ${reply.error}`))
      else waiting.resolve(reply.tokens)
    }
    // An error the thread did not catch (its module failing to load included) ends it: `close` follows.
    let error: string | undefined
    worker.addEventListener('error', (event) => {
      error = event.message
      event.preventDefault()
    })
    worker.addEventListener('close', () => this.ended(worker, error))
    worker.unref()
    return worker
  }

  private ended(worker: Worker, error: string | undefined) {
    if (this.worker !== worker) return
    this.worker = undefined
    console.error(`[tollgate] the tokenizer thread ended${error ? `: ${error}` : ''}; ${this.pending.size} count(s) refused`)
    for (const waiting of this.pending.values()) waiting.reject(tokenizerUnavailable())
    this.pending.clear()
  }
}
