import { Elysia } from 'elysia'
import { payloadTooLarge } from '../http/errors'

/**
 * Refuses a declared oversized body before anything reads it. A body sent without a length is capped by
 * the server's own `maxRequestBodySize`, set to the same limit.
 */
export const bodyLimit = (maxBytes: number) =>
  new Elysia({ name: 'body-limit', seed: maxBytes }).onRequest(({ request }) => {
    const declared = request.headers.get('content-length')
    if (declared !== null && Number(declared) > maxBytes) throw payloadTooLarge(maxBytes)
  })
