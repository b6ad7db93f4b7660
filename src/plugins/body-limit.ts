import { Elysia } from 'elysia'
import { SESSION_PATH } from '../console/session-auth'
import { type BodyClaim, BodyReadBudget, type BodyReadLimit } from '../http/body-budget'
import { readBodyWithin } from '../http/body-read'
import { payloadTooLarge } from '../http/errors'
import { formAsSent, formOf } from '../http/form-body'
import { type Listener, withIdleTimeoutOff } from '../http/idle-timeout'
import { parseJsonBody } from '../http/json-body'
import { requestState } from '../http/request-state'

/**
 * The one route whose body is a form (multipart), parsed here like every other body. Every other body is JSON to
 * this API, whatever its label says, so no route's JSON parser can be reached around the depth check.
 */
const FORM_ROUTES = new Set(['/v1/audio/transcriptions'])

/**
 * Routes whose bodies are small by nature, with their own limit. The console's sign-in is the one POST that
 * anyone reaches without a credential, and its body (one key) would otherwise be read and parsed under the
 * general limit before its route's Origin check and rate limit could turn it away: tens of megabytes of work
 * on the request thread for nothing.
 */
const SMALL_BODY_LIMITS = new Map([[SESSION_PATH, 4096]])

const limitFor = (request: Request, maxBytes: number) => SMALL_BODY_LIMITS.get(requestState(request).path) ?? maxBytes

/**
 * A declared length that an uplink of 256 kbit/s delivers within the idle timeout (960 KiB in the default 30 s)
 * is read under Bun's idle timeout. A larger body, or one of unknown length (chunked), may take longer: it is read
 * with that timeout off and the gateway's own in its place (`readPacedBody`).
 */
const BUN_READS_BYTES_PER_SEC = 32 * 1024

const readByBun = (declared: number, idleTimeoutSec: number) => declared <= idleTimeoutSec * BUN_READS_BYTES_PER_SEC

/**
 * The largest declared body Bun reads whole (`request.text()`), taking in what comes of it before the budget can
 * count it; a larger one is read chunk by chunk, each chunk claimed as it comes (`readBodyWithin`), so that a body
 * declared and never sent costs nothing and one sent is counted as Bun buffers it. Read whole, bodies up to this size
 * across every connection are bounded by what their senders send. Reading chunk by chunk costs the request thread
 * more (measured, CPU per chat request, 4 at a time, median of 8 alternating batches of 100: 100 kB 1,505 -> 1,779 µs,
 * 700 kB 4,069 -> 5,676 µs, against `request.text()`), which bodies under this size do not pay.
 */
const BUN_READS_WHOLE_BYTES = 64 * 1024

/** Decodes as `request.text()` does, a leading byte order mark dropped: a body is the same JSON however it was framed. */
const utf8 = new TextDecoder()

/**
 * Bodies over the limit get our 413, in the error shape and with every header, before they are parsed:
 * a declared length is checked as the request arrives; a body sent without one (chunked) is counted as
 * it is read. JSON bodies are read and parsed here (depth-checked, see json-body); so is a form, sent
 * chunked or not. Bun's own limit is lifted (`SERVER_BODY_LIMIT`) so that it never answers in our place.
 * A body over BUN_READS_WHOLE_BYTES, or chunked, is read chunk by chunk within the process's budget for such bodies,
 * `readBudgetBytes` (see body-budget; `onBusy` is told of each refused past it), and a large or chunked one under the
 * gateway's idle timeout instead of Bun's (`readByBun`).
 * Such a body counts as being read until it is parsed; every body, a small one read whole by Bun at its declared
 * length once it has come (the console sign-in's not at all), counts in flight until its request's answer is over (its claim is given back by
 * request-context): what was parsed from it (a transcription's file, a long prompt) lives until the provider has it,
 * and for a stream less of it after, for a JSON call more, as its answer is read where the parsed request is kept
 * (see body-budget).
 */
export const bodyLimit = (maxBytes: number, readBudgetBytes: number, onBusy: (limit: BodyReadLimit) => void = () => {}) => {
  const budget = new BodyReadBudget(readBudgetBytes, onBusy)
  return new Elysia({ name: 'body-limit', seed: [maxBytes, readBudgetBytes] })
    .onRequest(({ request }) => {
      const declared = request.headers.get('content-length')
      if (declared === null) return
      const limit = limitFor(request, maxBytes)
      if (Number(declared) > limit) throw payloadTooLarge(limit)
    })
    .onParse({ as: 'global' }, async ({ request, server }) => {
      if (!request.body) return
      // A preflight is let past authentication (corsPreflight marks it, after this plugin's onRequest) and is
      // answered without its body, which browsers never send: read, it would be anyone's work for nothing.
      if (requestState(request).preflight) return {}
      return readBody(request, server, limitFor(request, maxBytes), budget)
    })
}

async function readBody(request: Request, server: Listener | null, limit: number, budget: BodyReadBudget) {
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) <= BUN_READS_WHOLE_BYTES) {
    const { path } = requestState(request)
    // The sign-in's body (a key) takes no share of the bound for bodies in flight: anyone can send it, and it is
    // answered at once, by its route's Origin check and rate limit if not by the key.
    const whole = <T>(read: () => Promise<T>) => (SMALL_BODY_LIMITS.has(path) ? read() : readWhole(request, Number(declared), budget, read))
    if (FORM_ROUTES.has(path)) return whole(() => formAsSent(request))
    return parseJsonBody(await whole(() => request.text()))
  }
  const claim = budget.claim(budgetCallerOf(request))
  try {
    const body = await readPacedBody(request, server, limit, claim)
    claim.read()
    requestState(request).bodyClaim = claim
    return body
  } catch (error) {
    claim.release()
    throw error
  }
}

/**
 * A body Bun has read whole (`read`) is in flight like any other until its answer is over, claimed at its declared
 * length once it has come: such bodies are small (BUN_READS_WHOLE_BYTES), so what Bun holds of them before they are
 * claimed is what their senders have sent, while a claim taken before the body came held its length for a sender who
 * sent one byte and went quiet, until Bun's idle timeout (31 of them refused everyone's 500 KB bodies for 30 s).
 */
async function readWhole<T>(request: Request, bytes: number, budget: BodyReadBudget, read: () => Promise<T>): Promise<T> {
  const body = await read()
  requestState(request).bodyClaim = budget.claimRead(budgetCallerOf(request), bytes)
  return body
}

/** Whose bodies share one part of the read budget: the key's (or the master key's), or else the client address's. */
const budgetCallerOf = (request: Request): string => {
  const { caller, clientIp } = requestState(request)
  return caller ? `key:${caller.keyId}` : `ip:${clientIp ?? ''}`
}

/**
 * A body read chunk by chunk, the bytes that have come claimed from the budget (`claim`: as being read until parsed,
 * in flight until the answer is over). One that may take longer than the idle timeout to arrive has its pace watched
 * by the gateway instead of Bun; one declared short enough to come within it, or on a route whose limit is small,
 * keeps Bun's timeout as well: it cannot be slow for its size, and the console's sign-in, which anyone reaches,
 * stays bounded by it. A form is parsed from what was read (the route's own
 * parser finds the body already taken: the value returned here is the body).
 */
async function readPacedBody(request: Request, server: Listener | null, limit: number, claim: BodyClaim) {
  const { path, idleTimeoutSec } = requestState(request)
  const read = () => readBodyWithin(request.body!, limit, idleTimeoutSec, claim)
  const declared = Number(request.headers.get('content-length') ?? Infinity)
  const bytes = readByBun(Math.min(limit, declared), idleTimeoutSec) ? await read() : await withIdleTimeoutOff(request, server, read)
  if (!FORM_ROUTES.has(path)) return parseJsonBody(utf8.decode(bytes))
  return formOf(bytes, request.headers)
}

/**
 * Bun's own limit, out of the way: it refuses a declared length above it before any hook runs, with a bare
 * 413 (no request id, no security headers, no rate count, no log row). Ours always answers first instead:
 * a declared length is refused before a byte of the body is read, and a chunked body is counted as it is
 * read and refused at `maxBytes`. A body nobody reads (a 401, a GET) is not buffered: Bun discards it.
 */
export const SERVER_BODY_LIMIT = Number.MAX_SAFE_INTEGER
