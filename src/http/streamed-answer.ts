import { idleTimeoutBackWhenStreamEnds } from './idle-timeout'
import { peekRequestState, type RequestState } from './request-state'

/**
 * An answer whose body is streamed (a provider's stream or body passed through, the CSV export) is over when the
 * body ends or its client leaves, not when its headers go out (Elysia's after-response hook): what waits for that
 * end is told then. The connection gets its idle timeout back (src/http/idle-timeout.ts); the request log writes
 * the request's row with the time it took, and a large body's read-budget claim is given back (`whenAnswered`).
 * The source of the body calls this as it makes it, and what it returns once the body has ended, cancelled
 * included (later calls do nothing). No wrapper around the body: its source already knows when it ends.
 */
export function streamedAnswer(request: Request): () => void {
  const idleTimeoutBack = idleTimeoutBackWhenStreamEnds(request)
  const state = peekRequestState(request)
  if (!state) return idleTimeoutBack
  const end: NonNullable<RequestState['answerEnd']> = { waiting: [] }
  state.answerEnd = end
  return () => {
    if (end.ended) return
    end.ended = true
    idleTimeoutBack()
    for (const done of end.waiting.splice(0)) done()
  }
}

/**
 * Calls `done` once the request's answer is over: at once for an answer in memory (an error answer too, though a
 * stream may have been begun before the error) or a body that has already ended, else when the body ends.
 */
export function whenAnswered(state: RequestState, done: () => void): void {
  const end = state.answerEnd
  if (!end || end.ended || state.status !== undefined) return done()
  end.waiting.push(done)
}

/**
 * The status the request log records for a streamed answer that failed after its headers went out (an echo of the
 * provider's credentials found past its start): the client's body ends with an error, the row says what it was.
 */
export function noteStatus(request: Request, status: number): void {
  const state = peekRequestState(request)
  if (state) state.status = status
}
