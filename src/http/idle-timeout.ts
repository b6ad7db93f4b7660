import type { Server } from 'bun'
import { peekRequestState, requestState } from './request-state'

/** Seconds the listener keeps a connection that makes no progress (Bun's idle timeout; a write that drains is progress), unless the server is started with another. */
export const IDLE_TIMEOUT_SEC = 30

export type Listener = Pick<Server<unknown>, 'timeout'>

/**
 * An inference call may take minutes, so its route switches the listener's idle timeout off. Bun sets it
 * on the request's *connection*, which a keep-alive client goes on using: left off, that connection would
 * never be closed however long it idled, and a client (a pool of SDK clients) could hold any number of
 * them. So whoever switches it off here has it switched back on, to the server's own idle timeout, when
 * the response is complete: with the response itself for a body in memory (a JSON answer, an error: the
 * plugin in src/plugins/idle-timeout.ts), at its end for a body streamed from the provider.
 */
export function switchIdleTimeoutOff(request: Request, server: Listener | null): void {
  if (!server) return
  server.timeout(request, 0)
  requestState(request).idleTimeoutOff = { server, untilStreamEnds: false }
}

/**
 * Bun does not count a request body's bytes as activity: a body that keeps arriving for longer than the idle
 * timeout (a large upload on a slow link) is cut mid-way, unanswered. So `read` (the body being read) runs with
 * the timeout off, and must bound idleness itself; the connection has it back as soon as `read` ends, whatever
 * the handler does next.
 */
export async function withIdleTimeoutOff<T>(request: Request, server: Listener | null, read: () => Promise<T>): Promise<T> {
  switchIdleTimeoutOff(request, server)
  try {
    return await read()
  } finally {
    switchIdleTimeoutBackOn(request)
  }
}

/**
 * The response's body is a stream, which may wait on a slow provider far longer than the idle timeout:
 * the timeout stays off until the function returned is called, when the stream ends (a no-op when it was
 * never switched off).
 */
export function idleTimeoutBackWhenStreamEnds(request: Request): () => void {
  const off = peekRequestState(request)?.idleTimeoutOff
  if (!off) return () => {}
  off.untilStreamEnds = true
  return () => switchIdleTimeoutBackOn(request)
}

/**
 * For the response being made, unless its stream has it (or has already given it back). Bun ignores
 * `server.timeout` once the response is sent, so this runs as the response is made, not after it.
 */
export function idleTimeoutBackWithResponse(request: Request): void {
  const off = peekRequestState(request)?.idleTimeoutOff
  if (off && !off.untilStreamEnds) switchIdleTimeoutBackOn(request)
}

function switchIdleTimeoutBackOn(request: Request): void {
  const state = peekRequestState(request)
  const off = state?.idleTimeoutOff
  if (!off) return
  state.idleTimeoutOff = undefined
  off.server.timeout(request, state.idleTimeoutSec)
}
