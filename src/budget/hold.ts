import type { Ledger, Outcome, SettleStatus, TakenHold } from './ledger'

/** The tokens a hold's amount prices: admission's estimate, as held. */
export interface HeldTokens {
  promptTokens: number
  completionTokens: number
}

/**
 * One request's hold on the budget, from reserve to its single settlement. Whoever holds the handle owns
 * the hold; `using` makes the owner's scope the guarantee: leave it by any path, a throw included, and a
 * hold still open is settled at its full amount (we cannot know what the provider did with it). A
 * streaming response takes the hold over with `transfer()` and settles it when the stream ends.
 */
export class Hold implements Disposable {
  private open = true

  constructor(
    private readonly ledger: Ledger,
    readonly taken: TakenHold,
    private ended?: () => void,
  ) {}

  /** Runs `fn` once the hold is settled or released (whoever owns it then): the upstream slot goes back with it. */
  whenEnded(fn: () => void): void {
    this.ended = fn
  }

  /**
   * Takes the `whenEnded` callback off the hold and returns it (a no-op when none), for a response that
   * outlives its hold: speech is settled when the provider answers, while its audio still flows.
   */
  detachEnded(): () => void {
    const ended = this.ended ?? (() => {})
    this.ended = undefined
    return ended
  }

  get id(): number {
    return this.taken.id
  }

  /** The reserved worst case, micro-USD. */
  get amount(): number {
    return this.taken.request.amount
  }

  /** The user's budget left after this hold, micro-USD; null for an unlimited user. */
  get remainingAfter(): number | null {
    return this.taken.remainingAfter
  }

  get isOpen(): boolean {
    return this.open
  }

  /** Aborted when the gateway stops and cuts the calls its holds pay for (Ledger.cutCalls). */
  get callsCut(): AbortSignal {
    return this.ledger.callsCut
  }

  /**
   * The whole hold as a charge, for an answer whose cost is unknown (no usage, or no answer to read): recorded as
   * the tokens the amount priced, so that the row's counts say what it was billed for (as the sweeper's charge is:
   * expiredOutcome).
   */
  wholeCharge(status: SettleStatus, latencyMs: number): Outcome {
    return { cost: this.amount, promptTokens: 0, completionTokens: 0, ...this.taken.request.heldTokens, cachedTokens: 0, status, latencyMs }
  }

  /** Ends the hold with its cost; `now` (the settlement's time, for tests and tools) defaults to the clock's. */
  settle(outcome: Outcome, now?: number): void {
    if (!this.open) return
    this.open = false
    this.ledger.settle(this.taken, outcome, now)
    this.ended?.()
  }

  /** Ends the hold with no charge: the provider produced nothing (it failed, or the client left before it was called). */
  release(latencyMs: number, status: Extract<SettleStatus, 'error' | 'aborted'> = 'error'): void {
    this.settle({ cost: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, status, latencyMs })
  }

  /** Hands the hold to a new owner (a stream that outlives the handler); this handle no longer owns it. */
  transfer(): Hold {
    if (!this.open) throw new Error('transfer of a closed hold')
    this.open = false
    return new Hold(this.ledger, this.taken, this.ended)
  }

  [Symbol.dispose](): void {
    if (this.open) this.settle(this.wholeCharge('error', 0))
  }
}
