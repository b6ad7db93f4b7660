import { badGateway } from '../../http/errors'

/** OpenAI's answer, `{"id": "resp_…", "object": "response", "deleted": true}`, is under 100 bytes: a longer one is no such answer. */
const DELETION_ANSWER_BYTES = 4_096

/**
 * A provider's 2xx answer to `DELETE /responses/{id}`, and whether it says the response was deleted: JSON with
 * `deleted: true`. Any other 2xx (a proxy's page, an empty body) deleted nothing the gateway can tell. Read whole
 * only up to DELETION_ANSWER_BYTES; the client gets the answer as it came, a longer one streamed on from there.
 */
export async function readDeletion(res: Response): Promise<{ answer: Response; deleted: boolean }> {
  if (!res.body) return { answer: res, deleted: false }
  const init = { status: res.status, headers: res.headers }
  const reader = res.body.getReader()
  const read: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      read.push(value)
      size += value.byteLength
      if (size > DELETION_ANSWER_BYTES) return { answer: new Response(replayed(read, reader), init), deleted: false }
    }
  } catch {
    throw badGateway("Upstream provider's answer broke off before its end.")
  }
  const bytes = Buffer.concat(read)
  return { answer: new Response(bytes, init), deleted: saysDeleted(bytes.toString('utf8')) }
}

function saysDeleted(text: string): boolean {
  try {
    const answer: unknown = JSON.parse(text)
    return typeof answer === 'object' && answer !== null && (answer as { deleted?: unknown }).deleted === true
  } catch {
    return false
  }
}

/** What was read, then the rest as it comes. */
function replayed(read: Uint8Array[], reader: Pick<ReadableStreamDefaultReader<Uint8Array>, 'read' | 'cancel'>): ReadableStream<Uint8Array> {
  let next = 0
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (next < read.length) return controller.enqueue(read[next++]!)
      const { done, value } = await reader.read()
      if (done) controller.close()
      else controller.enqueue(value)
    },
    cancel: (reason) => reader.cancel(reason),
  })
}
