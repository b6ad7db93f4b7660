import { bodyReadBusy } from './errors'

/**
 * The most of a bound one caller's bodies may hold together, as a fraction: no one caller, with a few connections,
 * can take it all and have every other caller's large body refused.
 */
const CALLER_SHARE = 1 / 4

/**
 * Bodies in flight may hold this many times the read budget. What is parsed from a large body (a long prompt and the
 * JSON sent on, a transcription's file and the form rebuilt for the provider) lives about twice its size for the
 * whole provider call, which for a stream is minutes; the read budget, sized for bodies arriving, would make a key's
 * few parallel agent streams with screenshots in their context (4 MB each) refuse the next one for as long as they ran.
 */
const IN_FLIGHT_PER_READ_BUDGET = 2

/** The bound a body was refused at: bodies being read, or in flight (read or answered from), the process's or its caller's. */
export type BodyReadLimit = 'process' | 'caller' | 'process_in_flight' | 'caller_in_flight'

/** Bytes held against one bound, in all and by caller. */
class BodyBound {
  private held = 0
  private readonly byCaller = new Map<string, number>()
  readonly callerShare: number

  constructor(readonly maxBytes: number) {
    this.callerShare = Math.floor(maxBytes * CALLER_SHARE)
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
 * The body bytes a process holds for bodies read in pieces (declared larger than Bun reads whole, or chunked:
 * src/plugins/body-limit.ts). Each such body is kept whole until it ends, and each alone is bounded only by the body
 * limit: without a bound on them all, a few clients that send most of a large body and then crawl hold the process's
 * memory for as long as the pace rule lets them. A body claims the bytes that have come of it, never what it declares:
 * a declared length costs nothing to send, and the memory held is what has come.
 *
 * Two bounds, each with a quarter for one caller (a key, or a client address where there is none): bodies being read
 * hold at most `maxBytes`, until they are parsed; bodies in flight, from their first byte until their request's
 * answer is over (what is parsed from a body lives as long as its provider's call), hold at most twice that. A body
 * is refused 503 as soon as what has come of it passes either. One body is always let in when none is held, and one
 * of a caller's when none of theirs is, so a budget or share smaller than the body limit never refuses every large body.
 */
export class BodyReadBudget {
  readonly reading: BodyBound
  readonly inFlight: BodyBound

  constructor(
    readonly maxBytes: number,
    /** Told of each body refused, and which bound refused it. */
    private readonly onRefused: (limit: BodyReadLimit) => void = () => {},
  ) {
    this.reading = new BodyBound(maxBytes)
    this.inFlight = new BodyBound(maxBytes * IN_FLIGHT_PER_READ_BUDGET)
  }

  /** A claim on the budget for one body of `caller`'s, covering nothing until some of it comes. */
  claim(caller: string): BodyClaim {
    return new BodyClaim(this, caller)
  }

  /**
   * Takes `bytes` more, being read, for a body of `caller`'s that holds `held` already, or throws 503
   * `body_read_busy` when other bodies hold either bound, or other bodies of the caller's hold its share of it.
   */
  take(bytes: number, held: number, caller: string): void {
    this.refuseAt(this.reading.passed(bytes, held, caller), 'reading')
    this.refuseAt(this.inFlight.passed(bytes, held, caller), 'in flight')
    this.reading.take(bytes, caller)
    this.inFlight.take(bytes, caller)
  }

  private refuseAt(limit: 'process' | 'caller' | null, bound: 'reading' | 'in flight'): void {
    if (limit === null) return
    const inFlight = bound === 'in flight'
    this.onRefused(inFlight ? `${limit}_in_flight` : limit)
    const { maxBytes, callerShare } = inFlight ? this.inFlight : this.reading
    const held = inFlight ? 'in flight' : 'being read'
    if (limit === 'process') throw bodyReadBusy(`The gateway already holds ${maxBytes} bytes of request bodies ${held}, its limit; try again shortly.`)
    throw bodyReadBusy(`Your other request bodies ${held} already hold ${callerShare} bytes, your share of the gateway's; try again shortly.`)
  }
}

/** One body's share of the budget: what has come of it, counted as being read until `read` and in flight until `release`. */
export class BodyClaim {
  private held = 0
  private beingRead = true

  constructor(
    private readonly budget: BodyReadBudget,
    private readonly caller: string,
  ) {}

  /** Makes the claim cover a body that has come to `total` bytes, refusing it 503 past either bound or the caller's share of it. */
  cover(total: number): void {
    if (total <= this.held) return
    this.budget.take(total - this.held, this.held, this.caller)
    this.held = total
  }

  /** The body is read and parsed: it leaves the bodies being read, and stays in flight until `release`. */
  read(): void {
    if (!this.beingRead) return
    this.beingRead = false
    this.budget.reading.give(this.held, this.caller)
  }

  release(): void {
    this.read()
    this.budget.inFlight.give(this.held, this.caller)
    this.held = 0
  }
}
