import { Elysia } from 'elysia'
import { SESSION_PATH } from '../console/session-auth'
import { payloadTooLarge } from '../http/errors'
import { formAsSent } from '../http/form-body'
import { parseJsonBody } from '../http/json-body'
import { requestState } from '../http/request-state'

/** Reads a body to its end, refusing it once it passes `maxBytes`. */
async function readWithin(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = []
  let total = 0
  for await (const chunk of body) {
    total += chunk.byteLength
    if (total > maxBytes) throw payloadTooLarge(maxBytes)
    chunks.push(chunk)
  }
  return chunks
}

/**
 * The one route whose body is a form (multipart): its own parser reads it when its length is declared. Every other body is JSON to
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

/** Decodes as `request.text()` does, a leading byte order mark dropped: a body is the same JSON however it was framed. */
const utf8 = new TextDecoder()

/**
 * Bodies over the limit get our 413, in the error shape and with every header, before they are parsed:
 * a declared length is checked as the request arrives; a body sent without one (chunked) is counted as
 * it is read. JSON bodies are read and parsed here (depth-checked, see json-body); so is a form, sent
 * chunked or not. Bun's own limit is lifted (`SERVER_BODY_LIMIT`) so that it never answers in our place.
 */
export const bodyLimit = (maxBytes: number) =>
  new Elysia({ name: 'body-limit', seed: maxBytes })
    .onRequest(({ request }) => {
      const declared = request.headers.get('content-length')
      if (declared === null) return
      const limit = limitFor(request, maxBytes)
      if (Number(declared) > limit) throw payloadTooLarge(limit)
    })
    .onParse({ as: 'global' }, async ({ request }) => {
      if (!request.body) return
      // A preflight is let past authentication (corsPreflight marks it, after this plugin's onRequest) and is
      // answered without its body, which browsers never send: read, it would be anyone's work for nothing.
      if (requestState(request).preflight) return {}
      return readBody(request, maxBytes)
    })

async function readBody(request: Request, maxBytes: number) {
  if (!FORM_ROUTES.has(requestState(request).path)) {
    const text = request.headers.has('content-length')
      ? await request.text()
      : utf8.decode(Buffer.concat(await readWithin(request.body!, limitFor(request, maxBytes))))
    return parseJsonBody(text)
  }
  // A form is read here too: with its declared length as sent; sent chunked, counted as it is read, then parsed
  // from what was read (the route's own parser finds the body already taken: the value returned here is the body).
  if (request.headers.has('content-length')) return formAsSent(request)
  const bytes = Buffer.concat(await readWithin(request.body!, maxBytes))
  return formAsSent(new Response(bytes, { headers: { 'content-type': request.headers.get('content-type') ?? '' } }))
}

/**
 * Bun's own limit, out of the way: it refuses a declared length above it before any hook runs, with a bare
 * 413 (no request id, no security headers, no rate count, no log row). Ours always answers first instead:
 * a declared length is refused before a byte of the body is read, and a chunked body is counted as it is
 * read and refused at `maxBytes`. A body nobody reads (a 401, a GET) is not buffered: Bun discards it.
 */
export const SERVER_BODY_LIMIT = Number.MAX_SAFE_INTEGER
