import { Elysia } from 'elysia'
import { payloadTooLarge } from '../http/errors'

/** Reads a body to its end, refusing it once it passes `maxBytes`. */
async function countWithin(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<void> {
  let total = 0
  for await (const chunk of body) {
    total += chunk.byteLength
    if (total > maxBytes) throw payloadTooLarge(maxBytes)
  }
}

/**
 * Bodies over the limit get our 413, in the error shape and with every header, before they are parsed:
 * a declared length is checked as the request arrives; a body sent without one (chunked) is counted as
 * it is read, through a clone, so the route still parses the original. Bun's own limit sits above this
 * one as a last resort (`serverBodyLimit`), because Bun answers it with a bare 413 before any hook runs.
 */
export const bodyLimit = (maxBytes: number) =>
  new Elysia({ name: 'body-limit', seed: maxBytes })
    .onRequest(({ request }) => {
      const declared = request.headers.get('content-length')
      if (declared !== null && Number(declared) > maxBytes) throw payloadTooLarge(maxBytes)
    })
    .onParse({ as: 'global' }, async ({ request }) => {
      if (request.body && !request.headers.has('content-length')) await countWithin(request.clone().body!, maxBytes)
    })

/** The server-level limit: well above ours, so that ours is the one that answers. */
export const serverBodyLimit = (maxBytes: number) => Math.max(2 * maxBytes, maxBytes + 16 * 1024 * 1024)
