import { bodyReadBusy } from './errors'

/**
 * The most of the bound for bodies being read one caller's bodies may hold together, as a fraction: no one caller,
 * with a few connections, can take it all and have every other caller's large body refused.
 */
const CALLER_SHARE = 1 / 4

/**
 * A body in flight is counted at the memory it takes, this many times its bytes: measured as the gateway's peak RSS
 * over its RSS at rest, a chat body 3.5x (twenty of 0.9 MB at once) to 5x (one of 20 MB: the chunks, the buffer they
 * are joined in, the text decoded, the parsed prompt and the JSON sent on), a transcription's form 4x (one of 20 MB:
 * the chunks, their buffer, the file parsed from it and the form rebuilt for the provider). Counting bytes alone let
 * 128 MiB of them in, over 400 MB of memory.
 */
const BODY_MEMORY_PER_BYTE = 4

/**
 * What a body in flight is counted at, times its bytes, once its request has gone upstream (the provider's answer has
 * begun). Nothing parsed from it is referenced any more (a stream keeps its hold, meter and settlement facts: forty
 * 700 KB chat streams took 0.15x their bytes of live heap after a full collection), but what reading and parsing it
 * left stays in the RSS until the collector runs and reuses it: 2x their bytes above rest two seconds after the last
 * was sent, and more on a busy machine, where the collector runs later. At 2x the bound admitted 82 such streams from
 * four keys (peak RSS 179 MB, 81 at rest) on a quiet machine, but 110 arriving 60 ms apart peaked at 220-250 MB at a
 * load of 8 (test/json-answers-body-claim-until-read.alone.test.ts); at 3x, 55 of them, 186-190 MB at that load; at 1x,
 * 122 from one key peaked at 209 MB. Counted at 4x for the whole stream, 41 of them filled the bound (the 42nd
 * refused 503) with the gateway at 150 MB.
 */
const SENT_BODY_MEMORY_PER_BYTE = 3

/**
 * What a body in flight is counted at, times its bytes, from the admission of a call answered in JSON until its answer
 * is over (read in relay's scope, which keeps the parsed request and the body sent until then). Measured as the
 * gateway's peak RSS over its RSS before, for 41 agent-turn bodies of 700 KB in flight at once, 3.7x to 4.6x their
 * bytes (184-224 MB at the 4x of a body being parsed: past the 200 MB the bound is for,
 * test/json-answers-body-claim-until-read.alone.test.ts); counted at 5x, 33 of them fill the bound. Raised before the hold
 * (src/metering/admission.ts `admitRequest`), so a body the bound cannot take at it is refused holding nothing.
 */
const AWAITED_BODY_MEMORY_PER_BYTE = 5

/**
 * The memory bodies in flight may take, in read budgets: 112 MiB by default, which with the ~75 MB the gateway takes
 * at rest keeps it under the 200 MB it should stay within (README: the body read budget).
 */
const IN_FLIGHT_PER_READ_BUDGET = 1.75

/**
 * One caller's share of the bound for bodies in flight: a key's five parallel agent streams with screenshots in their
 * context (4 MB each, 80 MB of memory) are served, and a quarter is left to every other caller.
 */
const CALLER_SHARE_IN_FLIGHT = 3 / 4

/** The bound a body was refused at: bodies being read, or in flight (read or answered from), the process's or its caller's. */
export type BodyReadLimit = 'process' | 'caller' | 'process_in_flight' | 'caller_in_flight'

/** Bytes held against one bound, in all and by caller. */
class BodyBound {
  private held = 0
  private readonly byCaller = new Map<string, number>()
  readonly callerShare: number

  constructor(
    readonly maxBytes: number,
    callerShare: number,
  ) {
    this.callerShare = Math.floor(maxBytes * callerShare)
  }

  /**
   * Which limit `bytes` more for a body of `caller`'s that holds `held` already would pass, if any: the bound's, while
   * other bodies hold some of it, or the caller's share, while other bodies of theirs do.
   */
  passed(bytes: number, held: number, caller: string): 'process' | 'caller' | null {
    if (this.held > held && this.held + bytes > this.maxBytes) return 'process'
    const callers = this.byCaller.get(caller) ?? 0
    if (callers > held && callers + bytes > this.callerShare) return 'caller'
    return null
  }

  take(bytes: number, caller: string): void {
    this.held += bytes
    this.byCaller.set(caller, (this.byCaller.get(caller) ?? 0) + bytes)
  }

  give(bytes: number, caller: string): void {
    this.held -= bytes
    const left = (this.byCaller.get(caller) ?? 0) - bytes
    if (left > 0) this.byCaller.set(caller, left)
    else this.byCaller.delete(caller)
  }
}

/**
 * The memory a process holds for request bodies. A body read in pieces (declared larger than Bun reads whole, or
 * chunked: src/plugins/body-limit.ts) is kept whole until it ends, and each alone is bounded only by the body limit:
 * without a bound on them all, a few clients that send most of a large body and then crawl hold the process's memory
 * for as long as the pace rule lets them. Such a body claims the bytes that have come of it, never what it declares:
 * a declared length costs nothing to send, and the memory held is what has come.
 *
 * Two bounds: bodies being read in pieces hold at most `maxBytes` until they are parsed, a quarter of it for one
 * caller's (a key, or a client address where there is none); and every body, read in pieces or whole, is in flight
 * until its request's answer is over, counted at its memory against `IN_FLIGHT_PER_READ_BUDGET` times `maxBytes`,
 * three quarters of that for one caller's: at its peak while read and parsed (`BODY_MEMORY_PER_BYTE`); from its
 * admission, for a call answered in JSON, at what it takes until that answer is over (`AWAITED_BODY_MEMORY_PER_BYTE`;
 * told by src/metering/admission.ts); for a stream, at its peak until its request has gone upstream (what is parsed
 * from it lives until then) and at what it still takes after (`SENT_BODY_MEMORY_PER_BYTE`; told by
 * src/translate/relay.ts); an audio call's body at its peak throughout. A body is refused 503 as soon as what has come
 * of it passes either, or, for a call answered in JSON, when its admission's count does. One body is always let in
 * when none is held, and one of a caller's when none of theirs is, so a budget or share smaller than the body limit
 * never refuses every large body.
 */
export class BodyReadBudget {
  readonly reading: BodyBound
  readonly inFlight: BodyBound

  constructor(
    readonly maxBytes: number,
    /** Told of each body refused, and which bound refused it. */
    private readonly onRefused: (limit: BodyReadLimit) => void = () => {},
  ) {
    this.reading = new BodyBound(maxBytes, CALLER_SHARE)
    this.inFlight = new BodyBound(maxBytes * IN_FLIGHT_PER_READ_BUDGET, CALLER_SHARE_IN_FLIGHT)
  }

  /** A claim for one body of `caller`'s to be read in pieces, covering nothing until some of it comes. */
  claim(caller: string): BodyClaim {
    return new BodyClaim(this, caller)
  }

  /**
   * A claim for a body of `caller`'s that Bun has read whole, `bytes` long: in flight only, as it is never read in
   * pieces. Throws 503 `body_read_busy` past the bound for bodies in flight or the caller's share of it.
   */
  claimRead(caller: string, bytes: number): BodyClaim {
    const claim = new BodyClaim(this, caller, false)
    claim.cover(bytes)
    return claim
  }

  /**
   * Takes `bytes` more for a body of `caller`'s that holds `held` already, being read unless `beingRead` is false,
   * or throws 503 `body_read_busy` when other bodies hold either bound, or other bodies of the caller's its share.
   */
  take(bytes: number, held: number, caller: string, beingRead: boolean): void {
    if (beingRead) this.refuseAt(this.reading.passed(bytes, held, caller), 'reading')
    this.refuseAt(this.inFlight.passed(bytes * BODY_MEMORY_PER_BYTE, held * BODY_MEMORY_PER_BYTE, caller), 'in flight')
    if (beingRead) this.reading.take(bytes, caller)
    this.inFlight.take(bytes * BODY_MEMORY_PER_BYTE, caller)
  }

  /** A body's `bytes`, counted at `perByte` times them, no longer in flight. */
  give(bytes: number, caller: string, perByte = BODY_MEMORY_PER_BYTE): void {
    this.inFlight.give(bytes * perByte, caller)
  }

  /** A body's `bytes` gone upstream: counted in flight at what it still takes (`SENT_BODY_MEMORY_PER_BYTE`) from now on. */
  sent(bytes: number, caller: string): number {
    this.give(bytes, caller, BODY_MEMORY_PER_BYTE - SENT_BODY_MEMORY_PER_BYTE)
    return SENT_BODY_MEMORY_PER_BYTE
  }

  /**
   * A body's `bytes` whose call will be answered in JSON: counted at `AWAITED_BODY_MEMORY_PER_BYTE` from now on, or
   * refused 503 `body_read_busy` if that passes the bound for bodies in flight, or the caller's share, while other
   * bodies hold it. Bodies let in together at four times would otherwise all rise past it.
   */
  awaited(bytes: number, caller: string): number {
    const more = bytes * (AWAITED_BODY_MEMORY_PER_BYTE - BODY_MEMORY_PER_BYTE)
    this.refuseAt(this.inFlight.passed(more, bytes * BODY_MEMORY_PER_BYTE, caller), 'in flight')
    this.inFlight.take(more, caller)
    return AWAITED_BODY_MEMORY_PER_BYTE
  }

  private refuseAt(limit: 'process' | 'caller' | null, bound: 'reading' | 'in flight'): void {
    if (limit === null) return
    const inFlight = bound === 'in flight'
    this.onRefused(inFlight ? `${limit}_in_flight` : limit)
    if (inFlight) {
      if (limit === 'process') throw bodyReadBusy(`The gateway's request bodies in flight already take ${this.inFlight.maxBytes} bytes of its memory, their limit; try again shortly.`)
      throw bodyReadBusy(`Your other request bodies in flight already take ${this.inFlight.callerShare} bytes of the gateway's memory, your share; try again shortly.`)
    }
    if (limit === 'process') throw bodyReadBusy(`The gateway already holds ${this.reading.maxBytes} bytes of request bodies being read, its limit; try again shortly.`)
    throw bodyReadBusy(`Your other request bodies being read already hold ${this.reading.callerShare} bytes, your share of the gateway's; try again shortly.`)
  }
}

/**
 * One body's share of the budget: what has come of it, counted as being read until `read` and in flight until
 * `release`, at its peak memory until `awaited` (a JSON call's, raised) or `sent` (a stream's, lowered).
 */
export class BodyClaim {
  private held = 0
  private perByte = BODY_MEMORY_PER_BYTE

  constructor(
    private readonly budget: BodyReadBudget,
    private readonly caller: string,
    private beingRead = true,
  ) {}

  /** Makes the claim cover a body that has come to `total` bytes, refusing it 503 past either bound or the caller's share of it. */
  cover(total: number): void {
    if (total <= this.held) return
    this.budget.take(total - this.held, this.held, this.caller, this.beingRead)
    this.held = total
  }

  /** The body is read and parsed: it leaves the bodies being read, and stays in flight until `release`. */
  read(): void {
    if (!this.beingRead) return
    this.beingRead = false
    this.budget.reading.give(this.held, this.caller)
  }

  /** The request made of the body has gone upstream: what was read, decoded and parsed for it is no longer referenced. */
  sent(): void {
    this.read()
    if (this.perByte === BODY_MEMORY_PER_BYTE) this.perByte = this.budget.sent(this.held, this.caller)
  }

  /**
   * The request made of the body is admitted as a call answered in JSON, read where the parsed request is kept: counted
   * at that until `release`, or refused 503 past the bound for bodies in flight.
   */
  awaited(): void {
    this.read()
    if (this.perByte === BODY_MEMORY_PER_BYTE) this.perByte = this.budget.awaited(this.held, this.caller)
  }

  release(): void {
    this.read()
    this.budget.give(this.held, this.caller, this.perByte)
    this.held = 0
  }
}
