import type { UpstreamSignal } from './upstream'

/**
 * The whole call's timeout, or the gateway's stop, can abort a call while its answer is passed on and no read
 * waits on the provider: the client has stopped reading, and its backpressure stopped ours. Nothing else would
 * see that abort until the client read again, which it may never do, and whatever the stream holds (a hold, an
 * upstream slot, the connection's idle timeout switched off) would last as long as the client keeps its socket.
 * So the upstream read is cancelled and `end` runs at once. A read that waits fails with the abort and ends its
 * stream itself; the client going away is its stream's cancel. Returns what stops listening, for a stream that
 * ends otherwise.
 */
export function endWhenAbortedUnread(
  signal: UpstreamSignal,
  reader: Pick<ReadableStreamDefaultReader, 'cancel'>,
  o: { reading: () => boolean; end: () => void },
): () => void {
  const onAbort = () => {
    if (o.reading() || signal.reason() === 'client') return
    reader.cancel().catch(() => {})
    o.end()
  }
  signal.signal.addEventListener('abort', onAbort, { once: true })
  return () => signal.signal.removeEventListener('abort', onAbort)
}
