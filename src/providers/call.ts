import type { Hold } from '../budget/hold'
import type { Outcome } from '../budget/ledger'
import type { Config, ProviderConfig } from '../config/schema'
import { badGateway, badRequest, GatewayError, paidFailure } from '../http/errors'
import { noteStatus, streamedAnswer } from '../http/streamed-answer'
import { jsonOf, SseParser, type SseEvent } from '../translate/sse'
import type { ProviderRegistry } from './registry'
import type { FreeCallSlots } from './free-call-slots'
import { AnswerTooLarge, ANSWER_MAX_BYTES, boundedText } from './answer-text'
import { CredentialWatch } from './credential-watch'
import { watchForStalledWait } from './stalled-wait'
import { endWhenAbortedUnread } from './unread-abort'
import { authHeaders, bytesQuoteCredentials, checkedAnswerText, credentialsOf, CredentialsEchoed, errorAnswerFailure, fetchFailure, isErrorAnswer, mediaTypeOf, quotesCredentials, refuseCredentialEcho, upstreamFailure, upstreamSignal, type UpstreamSignal } from './upstream'
import { inflated } from './inflated'

/** A provider's successful answer, headers received, body not yet read. */
export interface UpstreamAnswer {
  res: Response
  /** Still armed (timeout, client going away): whoever reads the body disposes it. */
  signal: UpstreamSignal
  /** Milliseconds since the call started. */
  elapsed(): number
  /** Ends the hold of an answer that is only an error (see `isErrorAnswer`): released, the provider made nothing. */
  errorAnswer(): void
  /** Ends the hold of an answer that broke off or could not be used: paid (see `settleUnusableAnswer`). Returns `failure`, to throw. */
  unusableAnswer(failure: GatewayError): GatewayError
}

interface CallOptions {
  /** None for a free call (count_tokens): the client going away cuts it, as nobody pays for or reads its answer. */
  hold?: Hold
  timeoutMs: number
  /** The client's request signal. A client already gone is not called for: the provider gets nothing. */
  clientSignal: AbortSignal
  /**
   * Given (streams): the client going away aborts the call, and a call cut before its answer — by the client,
   * by our timeout, or by the gateway's stop — is settled with this outcome (its status set by `settleFailedCall`): the provider may
   * already have the prompt, and a stream cut off makes nothing more. Not given, with a hold: the call runs to its end
   * whatever the client does (the provider bills a request it received, so its answer's usage is what the
   * client pays), and one that times out is charged its whole hold.
   */
  onCutBeforeAnswer?: (latencyMs: number) => Outcome
}

/**
 * How a call that gave no answer ends its hold. Refused, reset or unreachable (no abort of ours):
 * released, the provider made nothing. Aborted by us — the client cut a stream, the
 * call outran `timeoutMs`, or the gateway's stop cut it (which pays as the timeout does) — it is paid,
 * since the provider may have the request: Bun's fetch rejects
 * with our abort's reason whether the connection, the TLS handshake or the wait for the answer was under way,
 * so a timeout cannot be told from one the provider accepted. It is charged as accepted, which is wrong
 * only for a connection that takes the whole timeout to open: a refused or reset one fails at once, and
 * Linux gives up on an unanswered connect after about two minutes (a failure, released), well within the
 * default 10-minute timeout.
 *
 * What it pays: a stream, `onCutBeforeAnswer` (the input estimate: a provider stops a stream whose reader
 * is gone). A JSON call, its whole hold: its answer (and its usage) comes only once the provider has
 * generated all of it, and a provider does not stop a non-stream generation when the connection drops
 * (it bills the whole answer, which nobody reads), so all that is known of its cost is the hold's bound,
 * as for an answer without usage. The input estimate would leave a client free to have, at will, a large
 * max output generated and billed to the operator for the price of its prompt.
 *
 * Returns the error for it (`fetchFailure`), a paid one's marked so (`paidFailure`).
 */
function settleFailedCall(o: CallOptions, signal: UpstreamSignal, latencyMs: number, error: unknown): GatewayError {
  const failure = fetchFailure(error, signal)
  const { hold } = o
  if (!hold) return failure
  const why = signal.reason()
  if (why === null) {
    hold.release(latencyMs)
    return failure
  }
  const status = why === 'client' || o.clientSignal.aborted ? 'aborted' : 'error'
  hold.settle(o.onCutBeforeAnswer ? { ...o.onCutBeforeAnswer(latencyMs), status } : hold.wholeCharge(status, latencyMs))
  return paidFailure(failure)
}

/**
 * How a 2xx answer whose body broke off (the connection dropped, or our timeout or stop cut it) or does
 * not parse ends its hold: the provider answered, so it generated the answer and bills it, read or not.
 * It is paid as an answer without usage, its whole hold (`answeredOutcome`): what it cost is unknown, and
 * the hold bounds it. A stream request answered with JSON included: a JSON answer comes only once all of
 * it is generated. Its row says `error`, or `aborted` when the client had left. Returns `failure`, marked paid.
 */
function settleUnusableAnswer(o: Pick<CallOptions, 'hold' | 'clientSignal'>, signal: UpstreamSignal, latencyMs: number, failure: GatewayError): GatewayError {
  const { hold } = o
  if (!hold) return failure
  const status = signal.reason() === 'client' || o.clientSignal.aborted ? 'aborted' : 'error'
  hold.settle(hold.wholeCharge(status, latencyMs))
  return paidFailure(failure)
}

/**
 * A provider's refusal (a non-2xx answer) as our error. Its body is read before the signal is disposed, so
 * that the call's timeout, the client going away and the gateway's stop cut a body that never ends as
 * they cut an answer; cut, it is that cut's error (a timeout's 504), as for an answer that broke off.
 */
async function refusalOf(res: Response, provider: ProviderConfig, signal: UpstreamSignal): Promise<GatewayError> {
  const failure = await upstreamFailure(res, provider)
  signal.dispose()
  return signal.reason() ? fetchFailure(null, signal) : failure
}

/**
 * POSTs to `base_url + path` with the provider's credentials: JSON for an object, multipart for a
 * FormData (fetch writes its boundary). A refusal releases the hold (the provider made nothing), no answer
 * ends it as `settleFailedCall` says; either throws our error for it.
 */
export async function callUpstream(
  provider: ProviderConfig,
  path: string,
  body: Record<string, unknown> | FormData,
  o: CallOptions,
): Promise<UpstreamAnswer> {
  const signal = upstreamSignal(o.timeoutMs, o.onCutBeforeAnswer || !o.hold ? o.clientSignal : undefined, o.hold?.callsCut)
  // An abort that happened before this point would never reach the signal's listener.
  if (o.clientSignal.aborted) signal.abortClient()
  // Gone already, or the gateway is stopping: nothing is sent, the provider makes nothing.
  const cut = signal.reason()
  if (cut) {
    signal.dispose()
    o.hold?.release(0, cut === 'client' ? 'aborted' : 'error')
    throw fetchFailure(null, signal)
  }
  const started = performance.now()
  const elapsed = () => performance.now() - started
  const isForm = body instanceof FormData
  let res: Response
  try {
    res = inflated(
      await fetch(`${provider.base_url}${path}`, {
        method: 'POST',
        headers: { ...(isForm ? {} : { 'content-type': 'application/json' }), ...authHeaders(provider) },
        body: isForm ? body : JSON.stringify(body),
        signal: signal.signal,
        // A redirect would carry the provider's credentials to wherever it points: it is a failure instead.
        redirect: 'manual',
        decompress: false,
      }),
    )
  } catch (error) {
    signal.dispose()
    throw settleFailedCall(o, signal, elapsed(), error)
  }
  if (!res.ok) {
    const failure = await refusalOf(res, provider, signal)
    // Refused, even if cut while its error body was read: the provider made nothing (SPEC §6).
    o.hold?.release(elapsed(), signal.reason() === 'client' ? 'aborted' : 'error')
    throw failure
  }
  return upstreamAnswer(res, signal, { hold: o.hold, clientSignal: o.clientSignal }, started)
}

/**
 * The answer of a call begun at `started`, made outside `callUpstream` and keeping only the hold and the client's
 * signal: a closure made in an async function keeps every variable of it that lives across an await (the body sent,
 * the options and what their callbacks keep), and a stream keeps its answer's closures until it ends. Made there,
 * they kept the parsed request (as much memory again as the body's bytes) for the whole stream.
 */
function upstreamAnswer(res: Response, signal: UpstreamSignal, o: Pick<CallOptions, 'hold' | 'clientSignal'>, started: number): UpstreamAnswer {
  const elapsed = () => performance.now() - started
  return {
    res,
    signal,
    elapsed,
    errorAnswer: () => o.hold?.release(elapsed()),
    unusableAnswer: (failure) => settleUnusableAnswer(o, signal, elapsed(), failure),
  }
}

/**
 * Reads the whole answer, up to `maxBytes` (`boundedText`), through `parse`. One that `parse` refuses with our own
 * error (an error in a 2xx body) is released; one that breaks off, does not parse, is larger than `maxBytes`
 * (`AnswerTooLarge`) or quotes the provider's credentials (`CredentialsEchoed`) is paid (`settleUnusableAnswer`).
 * Either throws.
 */
export async function readAnswer<T>(answer: UpstreamAnswer, parse: (text: string) => T, maxBytes = ANSWER_MAX_BYTES): Promise<T> {
  let read = false
  try {
    const text = await boundedText(answer.res, maxBytes)
    read = true
    return parse(text)
  } catch (error) {
    if (error instanceof CredentialsEchoed || error instanceof AnswerTooLarge) throw answer.unusableAnswer(error)
    if (error instanceof GatewayError) {
      answer.errorAnswer()
      throw error
    }
    throw answer.unusableAnswer(
      answer.signal.reason()
        ? fetchFailure(error, answer.signal)
        : badGateway(read ? 'Upstream provider sent a malformed answer.' : 'Upstream provider\'s answer broke off before its end.'),
    )
  } finally {
    answer.signal.dispose()
  }
}

/**
 * `readAnswer`'s parse for an answer passed on as it came (a transcription, a token count): its text, unless
 * it is only an error, which is released and becomes our redacted 502 as on every other route, or quotes the
 * provider's credentials, a 502 paid; an error beside more is redacted (`checkedAnswerText`).
 */
export const errorCheckedText = (answer: UpstreamAnswer, provider: ProviderConfig) => (text: string): string =>
  checkedAnswerText(text, answer.res.status, provider)

/**
 * `readAnswer`'s parse for an answer that is the client's own text however it reads (a transcript asked for as
 * text, srt or vtt: what the audio says, which may well be `{"error": …}`): passed on as it came, paid, never taken
 * for the provider's error; refused only when it quotes the provider's credentials, a 502 paid.
 */
export const echoCheckedText = (provider: ProviderConfig) => (text: string): string => {
  refuseCredentialEcho(text, credentialsOf(provider))
  return text
}

/** An answer that is only an error is short: past this many bytes a body is taken for an answer, and streamed through. */
const ERROR_ANSWER_BYTES = 65_536

/**
 * How much of an answer is looked at before it is passed on. Text (JSON, no content type at all, `text/*`): up to
 * `ERROR_ANSWER_BYTES`, what an error or an echo of the request comes as. An event stream: up to its first data
 * event, within the same bound. Anything else (audio): its first read, which is passed on at once, so that the
 * client waits for nothing it would not have waited for.
 */
type AnswerKind = 'text' | 'events' | 'binary'

function answerKind(res: Response): AnswerKind {
  const type = res.headers.get('content-type')?.split(';', 1)[0]!.trim().toLowerCase()
  if (type === 'text/event-stream') return 'events'
  return !type || type === 'application/json' || type.endsWith('+json') || type.startsWith('text/') ? 'text' : 'binary'
}

/** The first event of `events` that carries data, if any. */
const firstDataEvent = (events: SseEvent[]): SseEvent | undefined => events.find((e) => e.data !== '')

/** An event whose data is only an error (`isErrorAnswer`): `{"type":"error","error":{…}}`, `{"error":{…}}`. */
function isErrorEvent(event: SseEvent): boolean {
  if (!event.data.includes('error')) return false
  const parsed = jsonOf(event)
  return parsed !== null && typeof parsed === 'object' && isErrorAnswer(parsed)
}

/**
 * An answer streamed through as it came (speech, a streamed transcription, the free pass-through calls), once it
 * is known to be neither only an error nor an echo of the request. Its start is read first under the call's
 * signal (`answerKind` says how much): one that breaks off there is paid and thrown, as `readAnswer` does.
 * - A text body read to its end is `checkedAnswerText`'s: only an error, released and thrown as our redacted 502;
 *   an error beside more, redacted; quoting the provider's credentials, paid and thrown (`CredentialsEchoed`).
 * - An event stream whose first data event is only an error (audio asked for as a stream: the provider made
 *   nothing) is released and thrown as that 502, the event's text summarised.
 * - Whatever was read quoting the credentials is paid and thrown as well: the whole of a text answer up to 64 KiB,
 *   the start of a longer one and of an event stream, and the first read of audio. A key in the middle of real
 *   audio is no text a client reads.
 * Any other answer is given back with a body that replays what was read, then the rest, so it streams through as
 * before, never held whole. A longer text answer is searched on as it is relayed (`CredentialWatch`): an echo
 * writes the request's body before its headers, so a long body puts the key past any start. Found there, the
 * body ends with the error, before the credential (its status went out; its price is settled as the route settled it).
 */
export async function errorCheckedAnswer(answer: UpstreamAnswer, provider: ProviderConfig): Promise<UpstreamAnswer> {
  const { res, signal } = answer
  if (!res.body) return answer
  const kind = answerKind(res)
  const events = kind === 'events' ? new SseParser() : null
  const reader = res.body.getReader()
  const read: Uint8Array[] = []
  let size = 0
  let ended = false
  let firstData: SseEvent | undefined
  try {
    while (!ended && size < ERROR_ANSWER_BYTES) {
      const { done, value } = await reader.read()
      if (done) {
        ended = true
        if (events) firstData = firstDataEvent(events.end())
        break
      }
      read.push(value)
      size += value.byteLength
      if (kind === 'binary') break
      if (events && (firstData = firstDataEvent(events.push(value)))) break
    }
  } catch (error) {
    signal.dispose()
    throw answer.unusableAnswer(signal.reason() ? fetchFailure(error, signal) : badGateway('Upstream provider\'s answer broke off before its end.'))
  }
  try {
    if (kind === 'text' && ended) {
      const text = new TextDecoder().decode(Buffer.concat(read))
      const relayed = checkedAnswerText(text, res.status, provider)
      // An error beside more, redacted: the client gets that text, not what was read.
      if (relayed !== text) read.splice(0, read.length, new TextEncoder().encode(relayed))
    } else {
      if (firstData && isErrorEvent(firstData)) throw errorAnswerFailure(res.status, firstData.data, provider)
      if (bytesQuoteCredentials(read, credentialsOf(provider))) throw new CredentialsEchoed()
    }
  } catch (failure) {
    signal.dispose()
    if (!ended) reader.cancel().catch(() => {})
    if (failure instanceof CredentialsEchoed) throw answer.unusableAnswer(failure)
    answer.errorAnswer()
    throw failure
  }
  // Text read on past its start is searched to its end as it is relayed: an echo's headers may come after a long body.
  const watch = kind === 'text' && !ended ? new CredentialWatch(credentialsOf(provider)) : null
  let replayed = 0
  const next = () => (replayed < read.length ? { done: false as const, value: read[replayed++]! } : ended ? { done: true as const } : reader.read())
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Until something is handed on: a pull that enqueues nothing is not called again.
      for (;;) {
        const { done, value } = await next()
        if (done) {
          const held = watch?.end()
          if (held?.byteLength) controller.enqueue(held)
          return controller.close()
        }
        if (!watch) return controller.enqueue(value)
        let relayed: Uint8Array[]
        try {
          relayed = watch.next(value)
        } catch (echoed) {
          // The answer's status and price are settled: the body ends with the error, before the credential.
          reader.cancel().catch(() => {})
          throw echoed
        }
        for (const part of relayed) controller.enqueue(part)
        if (relayed.length > 0) return
      }
    },
    cancel: (reason) => reader.cancel(reason),
  })
  return { ...answer, res: new Response(ended && size === 0 ? null : body, { status: res.status, headers: res.headers }) }
}

interface RelayOptions {
  /** Called once when the body has ended, however it ended. */
  onEnd?: () => void
  /**
   * Given: a client that takes nothing of what was read for this long is let go, as if the call were cut (the
   * idle timeout's cut, below), rather than kept until the call's whole timeout.
   */
  clientIdleMs?: number
}

/**
 * The answer's body for our response, streamed through as it arrives. The call's timeout keeps running
 * until the body ends; the client going away cancels the upstream read. When the body ends, the request's
 * connection gets its idle timeout back, if its route switched it off, and the request is logged with the time it
 * took (src/http/streamed-answer.ts). A call cut (its timeout, the gateway's stop, or with `clientIdleMs` a client
 * that took nothing for that long) while its client reads nothing ends the body at once (`endWhenAbortedUnread`):
 * the body fails, so that the client's connection ends and a truncated answer is not taken for a whole one.
 */
export function relayBody(answer: UpstreamAnswer, request: Request, o: RelayOptions = {}): ReadableStream<Uint8Array> | null {
  const { res, signal } = answer
  const answered = streamedAnswer(request)
  // The client is idle only while a read chunk waits for it to be taken: not while a read waits on the provider.
  const clientWait = o.clientIdleMs === undefined ? null : watchForStalledWait(o.clientIdleMs, () => signal.abortIdle())
  let ended = false
  let stopWatchingAbort = () => {}
  const end = () => {
    if (ended) return
    ended = true
    clientWait?.stop()
    stopWatchingAbort()
    signal.dispose()
    answered()
    o.onEnd?.()
  }
  if (!res.body) {
    end()
    return null
  }
  const reader = res.body.getReader()
  let reading = false
  return new ReadableStream<Uint8Array>({
    start(controller) {
      stopWatchingAbort = endWhenAbortedUnread(signal, reader, {
        reading: () => reading,
        end: () => {
          end()
          controller.error(signal.signal.reason)
        },
      })
    },
    async pull(controller) {
      try {
        clientWait?.end()
        reading = true
        const { done, value } = await reader.read()
        reading = false
        if (!done) {
          controller.enqueue(value)
          return clientWait?.begin()
        }
        end()
        controller.close()
      } catch (error) {
        // A credential echo found past the answer's start: its 200 went out, the request log records the refusal.
        if (error instanceof CredentialsEchoed) noteStatus(request, error.status)
        end()
        controller.error(error)
      }
    },
    async cancel(reason) {
      end()
      await reader.cancel(reason).catch(() => {})
    },
  })
}

/** Embeddings, moderation and audio exist only in the OpenAI format: an Anthropic provider has none of them. */
export function refuseAnthropicModel(providers: ProviderRegistry, model: string, endpoint: string): void {
  const resolved = providers.resolve(model, 'openai')
  if (resolved?.provider.type === 'anthropic')
    throw badRequest(`${resolved.canonical} is an Anthropic model, and Anthropic has no ${endpoint} endpoint.`, 'unsupported_endpoint')
}

/**
 * The content type the client gets for a provider's answer: its media type, with its charset if it names one, or the
 * type the endpoint documents when the provider sent none it can read. Nothing else of the provider's header is
 * relayed: its parameters are the provider's own text, free to echo what it was sent (a debugging proxy labelling its
 * answer with the request's Authorization), where no echo check of the body looks. A header that quotes the
 * credentials all the same (as its media type or charset) is not the provider's to label the answer with.
 */
export function contentTypeOf(res: Response, fallback: string, provider: ProviderConfig): string {
  const header = res.headers.get('content-type')
  const type = mediaTypeOf(header)
  if (!type || quotesCredentials(header!, credentialsOf(provider))) return fallback
  const charset = charsetOf(header!)
  return charset ? `${type}; charset=${charset}` : type
}

/** The `charset` parameter of a content type when it is a charset's name (`utf-8`, `ISO-8859-1`), unquoted. */
function charsetOf(contentType: string): string | null {
  const charset = /;\s*charset\s*=\s*("?)([^";\s]*)\1\s*(?:;|$)/i.exec(contentType)?.[2]
  return charset && /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,39}$/.test(charset) ? charset : null
}

/** How a free call runs: its slot among the free calls, taken for its key; its timeouts; its client. */
interface UnmeteredOptions {
  freeCalls: FreeCallSlots
  keyId: string
  timeouts: Pick<Config, 'upstream_timeout_ms' | 'upstream_idle_timeout_ms'>
  request: Request
}

/**
 * A call that costs nothing and holds nothing (reading or deleting stored state, counting tokens): the
 * provider's answer streamed through with its status and content type, a refusal mapped like any other,
 * and a 2xx that is only an error too (`errorCheckedAnswer`). It takes a free-call slot first (refused past the
 * clients' share or its key's: `FreeCallSlots.takeFor`) and gives it back when the call ends: failed, refused, or
 * its body relayed to its end, cancelled or cut. A client that takes nothing of the body for the idle timeout is
 * let go (`relayBody`'s `clientIdleMs`): its connection's own idle timeout is off while the body is relayed, and
 * the slot would otherwise be kept until the call's whole timeout, from every other key's free calls.
 */
export async function callUnmetered(
  provider: ProviderConfig,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body: Record<string, unknown> | undefined,
  o: UnmeteredOptions,
): Promise<Response> {
  const slotBack = o.freeCalls.takeFor(o.keyId)
  const signal = upstreamSignal(o.timeouts.upstream_timeout_ms, o.request.signal)
  // An abort that happened before this point would never reach the signal's listener.
  if (o.request.signal.aborted) signal.abortClient()
  let answer: UpstreamAnswer
  try {
    const res = await fetch(`${provider.base_url}${path}`, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...authHeaders(provider) },
      body: body ? JSON.stringify(body) : undefined,
      signal: signal.signal,
      // As for a metered call: a redirect would carry the credentials to wherever it points.
      redirect: 'manual',
      decompress: false,
    }).then(inflated, (error: unknown) => {
      signal.dispose()
      throw fetchFailure(error, signal)
    })
    if (!res.ok) throw await refusalOf(res, provider, signal)
    answer = await errorCheckedAnswer({ res, signal, elapsed: () => 0, errorAnswer: () => {}, unusableAnswer: (failure) => failure }, provider)
  } catch (error) {
    slotBack()
    throw error
  }
  const relayed = relayBody(answer, o.request, { onEnd: slotBack, clientIdleMs: o.timeouts.upstream_idle_timeout_ms })
  return new Response(relayed, { status: answer.res.status, headers: { 'content-type': contentTypeOf(answer.res, 'application/json', provider) } })
}

/**
 * A free call whose answer is read whole through `parse` (a token count), as `readAnswer` reads it: its free-call
 * slot is taken first (as `callUnmetered` takes it) and given back once the answer is read or the call failed. The
 * client going away cuts it.
 */
export async function readUnmetered<T>(
  provider: ProviderConfig,
  path: string,
  body: Record<string, unknown>,
  o: UnmeteredOptions,
  parse: (answer: UpstreamAnswer) => (text: string) => T,
): Promise<T> {
  const slotBack = o.freeCalls.takeFor(o.keyId)
  try {
    const answer = await callUpstream(provider, path, body, { timeoutMs: o.timeouts.upstream_timeout_ms, clientSignal: o.request.signal })
    return await readAnswer(answer, parse(answer))
  } finally {
    slotBack()
  }
}
