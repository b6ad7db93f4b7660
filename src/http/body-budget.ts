import { bodyReadBusy } from './errors'

/**
 * The most of the budget one caller's bodies may hold together, as a fraction: no one caller, with a few connections,
 * can take it all and have every other caller's large body refused.
 */
const CALLER_SHARE = 1 / 4

/** The bound a body was refused at: the process's budget, or its caller's share of it. */
export type BodyReadLimit = 'process' | 'caller'

/**
 * The body bytes a process holds for bodies read in pieces (declared larger than Bun reads whole, or chunked:
 * src/plugins/body-limit.ts), from their first byte until their request's answer is over: what is parsed from a body
 * lives as long as its provider's call. Each such body is kept whole until it ends, and each alone is bounded only by
 * the body limit: without a bound on them all, a few clients that send most of a large body and then crawl hold
 * the process's memory for as long as the pace rule lets them. A body claims the bytes that have come of it, never
 * what it declares: a declared length costs nothing to send, and the memory held is what has come. Past the budget,
 * or past its caller's share of it (a key, or a client address where there is none), a body is refused 503 as soon
 * as what has come passes it. One body is always let in when none is held, and one of a caller's when none of
 * theirs is, so a budget or share smaller than the body limit never refuses every large body.
 */
export class BodyReadBudget {
  private reading = 0
  private readonly byCaller = new Map<string, number>()
  readonly callerShare: number

  constructor(
    readonly maxBytes: number,
    /** Told of each body refused, and which bound refused it: the whole budget's, or its caller's share. */
    private readonly onRefused: (limit: BodyReadLimit) => void = () => {},
  ) {
    this.callerShare = Math.floor(maxBytes * CALLER_SHARE)
  }

  /** A claim on the budget for one body of `caller`'s, covering nothing until some of it comes. */
  claim(caller: string): BodyClaim {
    return new BodyClaim(this, caller)
  }

  /**
   * Takes `bytes` more for a body of `caller`'s that holds `held` already, or throws 503 `body_read_busy` when other
   * bodies hold the budget, or other bodies of the caller's hold its share.
   */
  take(bytes: number, held: number, caller: string): void {
    if (this.reading > held && this.reading + bytes > this.maxBytes) {
      this.onRefused('process')
      throw bodyReadBusy(`The gateway already holds ${this.maxBytes} bytes of request bodies, its limit; try again shortly.`)
    }
    const callers = this.byCaller.get(caller) ?? 0
    if (callers > held && callers + bytes > this.callerShare) {
      this.onRefused('caller')
      throw bodyReadBusy(`Your other request bodies in flight already hold ${this.callerShare} bytes, your share of the gateway's; try again shortly.`)
    }
    this.reading += bytes
    this.byCaller.set(caller, callers + bytes)
  }

  give(bytes: number, caller: string): void {
    this.reading -= bytes
    const left = (this.byCaller.get(caller) ?? 0) - bytes
    if (left > 0) this.byCaller.set(caller, left)
    else this.byCaller.delete(caller)
  }
}

/** One body's share of the budget: what has come of it. */
export class BodyClaim {
  private held = 0

  constructor(
    private readonly budget: BodyReadBudget,
    private readonly caller: string,
  ) {}

  /** Makes the claim cover a body that has come to `total` bytes, refusing it 503 past the budget or the caller's share. */
  cover(total: number): void {
    if (total <= this.held) return
    this.budget.take(total - this.held, this.held, this.caller)
    this.held = total
  }

  release(): void {
    this.budget.give(this.held, this.caller)
    this.held = 0
  }
}
