import { GatewayError } from '../http/errors'

/**
 * The most bytes of a JSON answer read whole: a moderation, a transcription, a token count; and the least a chat
 * completion, a Message or a Response is read to, whose bound is what its request can make
 * (src/translate/answer-bound.ts). What a provider's fetch inflates (a gzip body: Bun's fetch decompresses
 * transparently) is counted as it arrives, so 400 KiB on the wire cannot become 400 MB in the gateway.
 */
export const ANSWER_MAX_BYTES = 32 * 1024 * 1024

/**
 * An embeddings answer's bound: 2,048 inputs of 3,072 dimensions as `encoding_format: "float"`, ~20 characters a
 * float, are ~126 MB.
 */
export const EMBEDDINGS_ANSWER_MAX_BYTES = 160 * 1024 * 1024

/**
 * A 2xx answer larger than the gateway reads whole: the provider made it and bills it, so it is paid as an answer
 * that cannot be used (`readAnswer`), not released as a provider's error is.
 */
export class AnswerTooLarge extends GatewayError {
  constructor(maxBytes: number) {
    super(502, 'upstream_error', `Upstream provider's answer is larger than the ${maxBytes} bytes the gateway reads, so it was not relayed.`, 'api_error')
  }
}

/**
 * Whether the body is no more than its declared length, and that is within `maxBytes`: then fetch reads no more of
 * it, and it is read whole, natively, as before the bound (a read chunk by chunk, and the join, took ~0.4 ms more for
 * a 1 MB answer). Not when it is compressed (the length is the compressed one) or chunked beside its length (Bun
 * then reads the chunks, whatever the length says).
 */
function declaredWithin(headers: Headers, maxBytes: number): boolean {
  const length = headers.get('content-length')
  return length !== null && /^\d+$/.test(length) && Number(length) <= maxBytes && !headers.has('content-encoding') && !headers.has('transfer-encoding')
}

/**
 * A body's text, read to its end, its bytes (as fetch gives them: decompressed) counted as they come; past
 * `maxBytes` the rest is cancelled, unread, and it throws `AnswerTooLarge`.
 */
export async function boundedText(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return ''
  if (declaredWithin(res.headers, maxBytes)) return res.text()
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      reader.cancel().catch(() => {})
      throw new AnswerTooLarge(maxBytes)
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size))
}
