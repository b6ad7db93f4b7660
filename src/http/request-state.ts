import type { Server } from 'bun'
import type { ConsoleSession } from '../console/sessions'
import type { Caller } from '../keys/caller'

/**
 * What the gateway learns about one request as it passes the edge plugins. Elysia's `onRequest`
 * hooks cannot add to the typed context, so they write here, keyed by the Request object itself so
 * that nothing outlives the request; handlers read it with `requestState(request)`.
 */
export interface RequestState {
  readonly id: string
  /** performance.now() when the request arrived. */
  readonly start: number
  readonly path: string
  clientIp: string | null
  /** The server's idle timeout, in seconds: what a connection gets back after its route switched it off. */
  readonly idleTimeoutSec: number
  /** Set while the connection's idle timeout is off for this request (src/http/idle-timeout.ts). */
  idleTimeoutOff?: { server: Pick<Server<unknown>, 'timeout'>; untilStreamEnds: boolean }
  caller?: Caller
  /** The hash of the virtual key the caller sent in a header: checked again once the body is in. */
  keyHash?: string
  /** Set when the caller came in with a console session cookie rather than a key. */
  session?: ConsoleSession
  /** Billed user, once known; for the request log, and the ids an answer records for its user (`admittedUser`). */
  userId?: string
  /** A CORS preflight from an allowed origin: answered without credentials, as browsers send none. */
  preflight?: boolean
  /** Set when the answer's body is streamed: it is over when the body ends (src/http/streamed-answer.ts). */
  answerEnd?: { ended?: boolean; waiting: Array<() => void> }
  /** Set by the error handler: Elysia's after-response hook does not see the status of an error response. */
  status?: number
  /** Counted in the requests in handling, until its answer is handed over (request-context). */
  inHandling?: boolean
  /**
   * The body's claim on the budget for bodies in flight (body-limit): raised for a call answered in JSON (admission),
   * lowered once a stream's request has gone upstream (relay), given back once the answer is over (request-context).
   */
  bodyClaim?: { sent(): void; awaited(): void; release(): void }
}

const states = new WeakMap<Request, RequestState>()

export function createRequestState(request: Request, path: string, clientIp: string | null, idleTimeoutSec: number): RequestState {
  const state: RequestState = { id: crypto.randomUUID(), start: performance.now(), path, clientIp, idleTimeoutSec }
  states.set(request, state)
  return state
}

export function requestState(request: Request): RequestState {
  const state = states.get(request)
  if (!state) throw new Error('request state read before the request-context plugin ran')
  return state
}

/** The caller of a non-public route: the auth plugin refused the request before routing otherwise. */
export function authenticated(state: RequestState): Caller {
  if (!state.caller) throw new Error('non-public route reached without a caller')
  return state.caller
}

/** The user an admitted request is billed to, as admission named it (src/metering/admission.ts). */
export function admittedUser(state: RequestState): string {
  if (state.userId === undefined) throw new Error('billed user read before admission')
  return state.userId
}

export const peekRequestState = (request: Request): RequestState | undefined => states.get(request)
