import type { TokenCounts } from '../pricing/price'
import { readArrived } from '../providers/arrived-body'
import { watchForStalledWait } from '../providers/stalled-wait'
import { quotesCredentials, type CutReason, type UpstreamSignal } from '../providers/upstream'
import { SseParser, type SseEvent } from '../translate/sse'

type StreamEnd =
  | 'done' //      the provider finished the stream
  | 'truncated' // the body ended before the provider said it was finished
  | 'failed' //    reading failed (reset, idle timeout), or the provider sent an error
  | 'malformed' // the gateway stopped reading at an event it cannot read (not JSON, or past the parser's cap) or will not relay (it quotes the provider's credentials)
  | 'cancelled' // our client went away, or was let go for taking nothing of the stream (`unread`)

export interface StreamFacts {
  end: StreamEnd
  usage: TokenCounts | null
  /**
   * Output passed to the client, as an upper bound on its tokens: the UTF-8 bytes of every generated
   * string, audio by its duration (see generated-output.ts).
   */
  deliveredOutputBytes: number
  /**
   * Uses of billed server tools the stream has shown begun, by the price book's name, from a meter that
   * can see them; without it, a stream cut before its usage pays every use its hold allowed.
   */
  serverToolUses?: Record<string, number>
  /** The input the provider stated before its usage (Anthropic's `message_start`), from a meter of a format that states one. */
  statedInput?: StatedInput
  /**
   * The service tier the provider said served the stream, in events without a usage (OpenAI stamps every chat chunk
   * with it), from a meter of a format that states one: a stream without a usage is billed at it.
   */
  statedTier?: string
}

/** Input a stream states exactly before its end, as counts of no output. */
export interface StatedInput {
  counts: TokenCounts
  /**
   * The provider may bill more input than stated: it ran a tool on its side (a web search, code execution), and a
   * pass after it reads the result as input that the statement did not count.
   */
  mayGrow: boolean
}

export interface MeterOptions {
  idleTimeoutMs: number
  signal: UpstreamSignal
  /** Called exactly once, however the stream ends. */
  onEnd: (facts: StreamFacts) => void
  /**
   * What the provider was sent that may be a credential (`secretsOf`), cut out of the error events it
   * sends; asked for only when one comes. Without it (a meter on its own), only key-shaped text is cut.
   */
  secrets?: () => readonly string[]
  /**
   * The credentials the provider was sent (`credentialsOf`): an event that quotes one, as the client would get
   * it, is an echo of the request (a debugging proxy's), and the stream stops before it (`CredentialsEchoed`).
   */
  credentials?: readonly string[]
}

/** What a meter makes of an event: the event itself, passed on as it came, or the text the client gets for it instead. */
export type Passed = SseEvent | string

/** What one wire format's meter knows: how to read its events, and how it tells a client something broke. */
export interface EventMeter {
  /**
   * The event as the client should get it: itself, other text ('' to drop it), or null when it makes no sense: the
   * stream stops there.
   */
  inspect(event: SseEvent): Passed | null
  /** The events so far make a finished answer. */
  readonly finished: boolean
  /** The provider reported an error in the stream itself (passed on, redacted: see provider-error-event.ts). */
  readonly providerFailed: boolean
  readonly usage: TokenCounts | null
  readonly deliveredOutputBytes: number
  readonly serverToolUses?: Record<string, number>
  readonly statedInput?: StatedInput | null
  readonly statedTier?: string
  errorEvent(why: keyof typeof STREAM_ERRORS): string
  /** A write the event just inspected must wait for before it reaches the client (taken once), if any. */
  takeWait?(): Promise<void> | null
}

/** The writes the events of a read wait for, and where in what it passed on the first event that waits begins. */
interface HeldEvents {
  at: number
  waits: Promise<void>[]
}

/**
 * What the client gets for an event without data (a comment, or only `event:`, `id:` or `retry:` lines): a
 * bare comment. Such a block dispatches nothing to an SSE client (an `id:` or `retry:` only matters to an
 * EventSource reconnecting, which a POST stream never does), so nothing of it is lost; but its text is the
 * provider's, free to echo what it was sent (a key in a debug comment). A constant, rather than the text
 * redacted: no scan of anything, and it still does a keep-alive's work of sending bytes while the provider
 * thinks. Data events, the hot path, are untouched.
 */
export const KEEP_ALIVE = ':\n\n'

const encoder = new TextEncoder()

/**
 * The most one pull hands the client (a converter after the meter is handed a read's events, and hands the client at
 * most this much of what they convert to). Bun pulls again only once what it was handed has gone into the client's
 * socket, so the time between two pulls is the time the client took to take this much (and a third of the socket's
 * send buffer, which the kernel frees before it wakes a blocked write): the client's own progress, which the idle rule
 * (`clientWait`) measures. Everything one read passed on, handed at once, made that time its size over the client's
 * rate: an event of many megabytes (an image generation's partial image) over a slow link, and a client reading
 * steadily was let go as one that took nothing.
 */
export const MAX_HANDED_BYTES = 64 * 1024

/**
 * How long a stream cut while no read waited reads what has arrived of its provider's body (`endWithArrived`): long
 * enough to read the megabytes of a finished answer already in memory, short beside the idle timeout a client let go
 * has waited already, and beside the whole call's timeout.
 */
const ARRIVED_WITHIN_MS = 1_000
/** How long at the gateway's stop: within the second it waits for the calls it cut to settle (CLOSING_MS). */
const ARRIVED_AT_STOP_WITHIN_MS = 250
/**
 * A stream whose client went away reads what has arrived (`endLeft`) within ARRIVED_WITHIN_MS too, but a read that
 * waits `LEFT_QUIET_MS` finds nothing more there, and the call is cut then: a provider still at work is freed at once.
 * A finished answer comes as fast as it is read, half a megabyte a read: 25 MB took 250 ms to 700 ms on a loaded
 * machine, and a look bounded at 250 ms paid it by the bytes read, three times its usage.
 */
const LEFT_QUIET_MS = 50
/**
 * How much of it is read at most: a bound on the events the meter reads at once, and on the text queued after them.
 * A finished answer's rest larger than this (far more than a chat answer's megabytes) is taken for one not finished,
 * and paid by what was read.
 */
const ARRIVED_MAX_BYTES = 32 * 1024 * 1024

/** How long a cut reads what has arrived: a client let go, no longer than the idle timeout it was let go at. */
const arrivedWithinMs = (why: CutReason, idleTimeoutMs: number): number =>
  why === 'shutdown' ? ARRIVED_AT_STOP_WITHIN_MS : why === 'unread' ? Math.min(idleTimeoutMs, ARRIVED_WITHIN_MS) : ARRIVED_WITHIN_MS

/**
 * A metered stream: the client's bytes, or the events for a converter (`meterEvents`). A stage between it and the
 * client that hands on what it read in pieces (a translated stream's converter) reads it again only once every piece is
 * taken: it says when it hands the client each one (`handedOn`), which the meter would otherwise see only at its next
 * pull, so that the idle rule measures the client's progress from then, rather than the size of what one read converts
 * to and the time it took to convert.
 */
export type MeteredStream<T = Uint8Array> = ReadableStream<T> & { handedOn(): void }

/**
 * How a metered stream hands on what its meter passed: encoded for the client (`asBytes`), or as the events
 * themselves for a converter after it (`asEvents`).
 */
interface Outlet<T> {
  /** Its events are read again after the meter: each keeps its data once parsed (`SseParser`'s `readAgain`). */
  readAgain: boolean
  /** Queues what a read passed on, or the first piece of it: the pulls after it hand the rest (`next`). */
  hand(controller: ReadableStreamDefaultController<T>, passed: readonly Passed[]): void
  /** Queues the next piece of what was handed, if one is left (true). */
  next(controller: ReadableStreamDefaultController<T>): boolean
  /** Queues all that is left of what was handed, then `passed` (if anything): the stream ends. */
  last(controller: ReadableStreamDefaultController<T>, passed?: readonly Passed[]): void
}

const textOf = (passed: Passed): string => (typeof passed === 'string' ? passed : passed.raw + '\n\n')

/** The client's bytes, handed at most `MAX_HANDED_BYTES` a pull. */
function asBytes(): Outlet<Uint8Array> {
  const encode = (passed: readonly Passed[]) => {
    // Concatenated, not joined: a long event's text stays a rope, flattened once, by the encoding.
    let text = ''
    for (const one of passed) text += textOf(one)
    return encoder.encode(text)
  }
  // What was passed on (and counted) past MAX_HANDED_BYTES, not handed to the client yet: the next pulls take it.
  let unhanded: Uint8Array | null = null
  const handPiece = (controller: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array) => {
    unhanded = bytes.length > MAX_HANDED_BYTES ? bytes.subarray(MAX_HANDED_BYTES) : null
    controller.enqueue(unhanded ? bytes.subarray(0, MAX_HANDED_BYTES) : bytes)
  }
  return {
    readAgain: false,
    hand: (controller, passed) => handPiece(controller, encode(passed)),
    next: (controller) => unhanded !== null && (handPiece(controller, unhanded), true),
    last: (controller, passed) => {
      if (unhanded) controller.enqueue(unhanded)
      unhanded = null
      if (passed?.length) controller.enqueue(encode(passed))
    },
  }
}

/**
 * The events themselves, for a converter: it would otherwise decode and parse again the text just encoded from them,
 * an event of many megabytes built, encoded, decoded and joined once more on its way. The texts the meter gives in an
 * event's place (an error redacted, the meter's own error events, a keep-alive) are parsed: they are short.
 */
const asEvents: Outlet<SseEvent[]> = {
  readAgain: true,
  hand: (controller, passed) => controller.enqueue(eventsOf(passed)),
  next: () => false,
  last: (controller, passed) => {
    if (passed?.length) controller.enqueue(eventsOf(passed))
  },
}

const eventsOf = (passed: readonly Passed[]): SseEvent[] => passed.flatMap((one) => (typeof one === 'string' ? SseParser.eventsIn(one) : [one]))

/** Bun's reader, with its `readMany` (the DOM typings of the reader do not know it). */
type BunReader = ReadableStreamDefaultReader<Uint8Array> & {
  readMany(): Promise<Bun.ReadableStreamDefaultReadManyResult<Uint8Array>> | Bun.ReadableStreamDefaultReadManyResult<Uint8Array>
}

/**
 * Passes an SSE stream through event by event (never the whole answer in memory), letting the meter
 * read each event, and reports how it ended exactly once. A client that goes away aborts the upstream
 * call; a stream that breaks ends with an error event in the client's format, so that SDKs raise
 * instead of taking a partial answer for a whole one.
 */
export function meterStream(upstream: ReadableStream<Uint8Array>, meter: EventMeter, o: MeterOptions): MeteredStream {
  return metered(upstream, meter, o, asBytes())
}

/** The same, for a converter after it: what the meter passed on is handed as events (`asEvents`), not as the client's bytes. */
export function meterEvents(upstream: ReadableStream<Uint8Array>, meter: EventMeter, o: MeterOptions): MeteredStream<SseEvent[]> {
  return metered(upstream, meter, o, asEvents)
}

function metered<T>(upstream: ReadableStream<Uint8Array>, meter: EventMeter, o: MeterOptions, outlet: Outlet<T>): MeteredStream<T> {
  const reader = upstream.getReader() as BunReader
  const parser = new SseParser(outlet.readAgain)
  const credentials = o.credentials ?? []
  let ended = false
  // The provider is idle only while a read waits on it: a client that stops reading (its backpressure
  // stops ours) must not make a working provider look silent.
  const providerWait = watchForStalledWait(o.idleTimeoutMs, () => o.signal.abortIdle())
  // The client is idle only while what was read waits for it to be taken (no pull comes). One that takes nothing
  // for the idle timeout is let go (`unread`, ended by `endWithArrived`): otherwise its stream, its hold and its
  // provider-call slot would last the whole call's timeout (600 s), every other user's paid calls refused once such
  // streams took every slot.
  const clientWait = watchForStalledWait(o.idleTimeoutMs, () => o.signal.abortUnread())
  // Under way, a cut reads the provider's body, and ends the stream: a pull waits for it, and so does the client's
  // cancel (what was read is paid, and the stream ends as the client's cut).
  let cutting: Promise<void> | null = null
  // Under way, the client's cut reads what has arrived, for no one: its cancel waits for it.
  let leaving: Promise<void> | null = null
  // Cancelled (its client gone, or a converter's cancel): nothing more can be queued on the stream.
  let cancelled = false

  // The client can leave before this stream is read or cancelled: its request's signal then aborts the
  // upstream read, and the failed read is the client's doing, not the provider's. During a cut's look at what has
  // arrived, its leaving waits for the look (`deferCuts`).
  const clientLeft = () => o.signal.clientLeft()

  let controller!: ReadableStreamDefaultController<T>
  // A cut (the whole call's timeout, the gateway's stop, a client let go) can come while no read waits. The
  // stream ends there all the same (`endWithArrived`), as the next read would have (the abort fails it):
  // otherwise the hold lives as long as the connection, past its TTL, and the sweeper charges it in full while
  // the client is still given output. What the meter passed on is counted, read by the client or not.
  // A pull under way counts as a read waiting, its own waits too (a final event held until its ids are
  // written): it sees the cut itself, after passing on what it read (below). So does a cut's own read.
  let reading = false
  /** Ends the stream by the facts so far, once its call was cut; `passedOn`, events read but not handed yet. */
  const endAtCut = (passedOn: readonly Passed[] = []) => {
    if (ended) return
    // The provider had finished (its final event passed on): only the end of its body was not seen.
    if (meter.finished) {
      finish('done')
      return end(passedOn)
    }
    // A client let go is paid as one that went away; the error event is queued after what it has not taken yet.
    const letGo = o.signal.reason() === 'unread'
    finish(letGo ? 'cancelled' : 'failed')
    end([meter.errorEvent(letGo ? 'unread' : 'failed')])
  }
  /** The stream ends: what it has not handed yet is queued before `passed`, and its end. */
  const end = (passed?: readonly Passed[]) => {
    outlet.last(controller, passed)
    controller.close()
  }
  /** After a piece is queued for the client: the wait for it to take it begins. */
  const handed = () => {
    // Cut while this pull waited after its read: no later read may come to see it.
    if (o.signal.signal.aborted && !clientLeft()) endAtCut()
    else clientWait.begin()
  }
  // A read waiting fails with the abort and ends the stream itself; else what has arrived is read first.
  const stopDeferringCuts = o.signal.deferCuts((why, abort) => {
    if (reading) return abort()
    if (why === 'client') leaving = endLeft(abort)
    else cutting = endWithArrived(why, abort)
  })

  const finish = (how: StreamEnd) => {
    if (ended) return
    ended = true
    providerWait.stop()
    clientWait.stop()
    stopDeferringCuts()
    o.signal.dispose()
    const facts: StreamFacts = { end: how, usage: meter.usage, deliveredOutputBytes: meter.deliveredOutputBytes }
    const toolUses = meter.serverToolUses
    if (toolUses) facts.serverToolUses = toolUses
    const statedInput = meter.statedInput
    if (statedInput) facts.statedInput = statedInput
    const statedTier = meter.statedTier
    if (statedTier !== undefined) facts.statedTier = statedTier
    // Its callers pass on and close what they read after it: a throw here would leave the client's stream open.
    try {
      o.onEnd(facts)
    } catch (error) {
      console.error('[tollgate] a stream\'s end handler failed', error)
    }
  }

  /**
   * What the meter passed on of these events, for the client; `malformed` when one of them stopped the stream: one the
   * meter reads as unreadable, or one it cannot read at all (a shape it does not expect throws: `choices` an object, a
   * `type` that is a number, nesting past the stack), or one that quotes the provider's credentials as the client
   * would get it (`echo`: an error event's are cut out by the meter, so only an echo of the request still has them).
   * Each is the gateway's cut, not the provider's failure. The look is at the event's data and name, which the meter
   * has read as they are, and only then at the client's text for it.
   */
  const passOn = (events: SseEvent[]) => {
    const out: Passed[] = []
    let held: HeldEvents | null = null
    try {
      for (const event of events) {
        const passed = meter.inspect(event)
        const wait = meter.takeWait?.()
        if (wait) {
          // Handled here too: a stream stopped before the event is passed on never awaits it.
          wait.catch(() => {})
          ;(held ??= { at: out.length, waits: [] }).waits.push(wait)
        }
        if (passed === null) return { out, malformed: true, echo: false, held }
        if (echoesCredentials(event, credentials) && quotesCredentials(textOf(passed), credentials)) return { out, malformed: true, echo: true, held }
        if (passed !== '') out.push(passed)
      }
    } catch {
      return { out, malformed: true, echo: false, held }
    }
    return { out, malformed: false, echo: false, held }
  }

  /**
   * Whether what the read's events wait for was written, once it is. When it was not (a stored response's ids, which
   * the final event gives the client), the stream ends before the first event that waited, with an error event
   * saying so; the provider has finished, and the stream is paid by its usage (`failed`: its row says `error`).
   */
  const writtenOrEnded = async (read: ReturnType<typeof passOn>): Promise<boolean> => {
    if (!read.held) return true
    if (await Promise.all(read.held.waits).then(() => true, () => false)) return true
    reader.cancel().catch(() => {})
    finish('failed')
    end([...read.out.slice(0, read.held.at), meter.errorEvent('unrecorded')])
    return false
  }

  /** Reads events out of what one read of the provider gave, and passes them on. */
  const passOnRead = (chunks: Uint8Array[], done: boolean) => {
    const events = chunks.length === 1 ? parser.push(chunks[0]!) : chunks.flatMap((chunk) => parser.push(chunk))
    if (done) events.push(...parser.end())
    return passOn(events)
  }

  /**
   * Hands the client what one read passed on, or ends the stream there; false when there was nothing to hand it yet
   * (the pull reads again).
   */
  const deliver = ({ out, malformed, echo }: ReturnType<typeof passOn>, done: boolean): boolean => {
    // An event past the parser's cap is as malformed as one that does not parse: the stream stops there,
    // the gateway's cut (paid as one, `streamOutcome`), unless the provider had already reported its failure.
    if (malformed || parser.overflowed) {
      reader.cancel().catch(() => {})
      finish(meter.providerFailed ? 'failed' : 'malformed')
      end([...out, meter.errorEvent(echo ? 'echo' : 'malformed')])
      return true
    }
    if (done) {
      const how: StreamEnd = meter.finished ? 'done' : meter.providerFailed ? 'failed' : clientLeft() ? 'cancelled' : 'truncated'
      finish(how)
      end(how === 'truncated' ? [...out, meter.errorEvent('truncated')] : out)
      return true
    }
    if (out.length === 0) return false
    outlet.hand(controller, out)
    handed()
    return true
  }

  /** A read of the provider failed, or the stream's enqueue after its client had gone. */
  const readFailed = () => {
    if (ended) return // cancelled by our client while a read was in flight
    // The call cut (its timeout, the idle timeout, the stop) while this read waited: as any cut, `done` if
    // the provider had already finished, with no error event after its answer.
    if (o.signal.signal.aborted && !clientLeft()) return endAtCut()
    finish(clientLeft() ? 'cancelled' : 'failed')
    end([meter.errorEvent('failed')])
  }

  /**
   * Ends a stream cut while no read waited on its provider: a client let go for taking nothing for the idle timeout
   * (`unread`), the whole call's timeout, the gateway's stop. Its provider may have sent more meanwhile, all of its
   * answer even: Bun's fetch reads a body on whatever the client takes, so the rest, its usage with it, may be in
   * memory, unread by the meter. That is read first (`readArrived`, bounded), before the abort that would discard it
   * (`deferCuts`), and passed through the meter. Ended there, the call is not cut: the stream ends as a finished one
   * does, paid by its usage (SPEC §6: usage if known), its row `ok`, the rest of the answer queued for the client.
   * Otherwise the call is cut and the stream ends by the facts so far (`endAtCut`), what was read counted as output
   * generated (SPEC §6) but not queued, short of a final event: a client that took nothing, or a call out of time,
   * has no use for megabytes more of an answer that will not end.
   */
  const endWithArrived = async (why: CutReason, abort: () => void) => {
    reading = true
    try {
      const arrived = await readArrived(reader, { withinMs: arrivedWithinMs(why, o.idleTimeoutMs), maxBytes: ARRIVED_MAX_BYTES, wallTime: why === 'shutdown' })
      if (ended) return
      const read = passOnRead(arrived.chunks, arrived.done)
      if (!(await writtenOrEnded(read))) return
      // The client left during the look: what it read is counted, and the stream ends as the client's cut.
      if (clientLeft()) return endAsLeft(abort)
      if (arrived.done || read.malformed || parser.overflowed) return void deliver(read, arrived.done)
      abort()
      reader.cancel().catch(() => {})
      endAtCut(read.out)
    } catch {
      readFailed()
    } finally {
      reading = false
    }
  }

  /**
   * Ends a stream whose client went away while no read waited on its provider. What has arrived meanwhile may be the
   * rest of the answer, its usage with it (a fast provider, a slow client: as in `endWithArrived`): it is read through
   * the meter before the abort would discard it, handed to no one, and the stream is paid by that usage (SPEC §6: usage
   * if known), or else by what was generated so far, read by the client or not. Its row says `aborted` either way.
   */
  const endLeft = async (abort: () => void) => {
    reading = true
    try {
      const arrived = await readArrived(reader, { withinMs: ARRIVED_WITHIN_MS, maxBytes: ARRIVED_MAX_BYTES, quietMs: LEFT_QUIET_MS })
      if (!ended) passOnRead(arrived.chunks, arrived.done)
    } finally {
      reading = false
      endAsLeft(abort)
    }
  }

  /**
   * Ends a stream whose client went away, once what had arrived went through the meter: the call is cut, and the
   * stream is paid by the facts so far (`cancelled`). Its row says `aborted`. The client's signal can come before its
   * stream's cancel, a read of it waiting: that read gets the stream's end.
   */
  const endAsLeft = (abort: () => void) => {
    abort()
    reader.cancel().catch(() => {})
    if (ended) return
    finish('cancelled')
    if (!cancelled) end([meter.errorEvent('failed')])
  }

  const stream = new ReadableStream<T>(
    {
      start(c) {
        controller = c
      },
      async pull() {
        clientWait.end()
        if (cutting) return cutting
        if (leaving) return leaving
        if (outlet.next(controller)) return handed()
        reading = true
        try {
          for (;;) {
            // Every chunk already queued at once (Bun's readMany): a read per chunk is a promise per chunk.
            providerWait.begin()
            const { value: chunks = [], done } = await reader.readMany()
            providerWait.end()
            const read = passOnRead(chunks, done)
            // The client may leave meanwhile: its cancel ends the stream, and the enqueue then throws into the catch.
            if (!(await writtenOrEnded(read))) return
            if (deliver(read, done)) return
          }
        } catch {
          readFailed()
        } finally {
          reading = false
        }
      },
      cancel() {
        cancelled = true
        o.signal.abortClient()
        if (leaving) return leaving
        if (cutting && !ended) return cutting
        reader.cancel().catch(() => {})
        finish('cancelled')
      },
    },
    { highWaterMark: 0 },
  )
  // The client took what was handed before (else no pull would have come): the wait for it to take this begins now.
  return Object.assign(stream, { handedOn: () => void (ended || clientWait.begin()) })
}

/**
 * Whether an event quotes the credentials in its data or in its name: a meter relays an event's `event:` line as it
 * came, so an echoing server that names its events after what it received (`event: echo x-api-key=…`) hands them on
 * as surely as one that puts them in its data.
 */
const echoesCredentials = (event: SseEvent, credentials: readonly string[]): boolean =>
  quotesCredentials(event.data, credentials) || (event.event !== null && quotesCredentials(event.event, credentials))

export const STREAM_ERRORS = {
  failed: 'The upstream stream failed before it finished.',
  truncated: 'The upstream stream ended before it finished.',
  malformed: 'The upstream stream sent a malformed event.',
  unread: 'The client took none of the stream for the idle timeout, so the gateway ended it.',
  echo: "The upstream stream sent an event quoting the credentials the gateway sent it (an echo of the request?), so it was stopped there. The gateway's operator must check this provider's base_url.",
  unrecorded:
    'The provider answered and the request is charged, but the database did not take the ids in it (of a stored response, or of a container) in time (locked, or out of reach), so another replica would not find them: the event that gives them is withheld. Try again.',
} as const
