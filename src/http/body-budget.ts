import { bodyReadBusy } from './errors'

/**
 * The body bytes a process holds for bodies still being read in pieces (declared larger than Bun reads whole, or
 * chunked: src/plugins/body-limit.ts). Each such body is kept whole until it ends, and each alone is bounded only by
 * the body limit: without a bound on them all, a few clients that send most of a large body and then crawl hold
 * the process's memory for as long as the pace rule lets them. Past the budget a body is refused 503: one declared
 * past it before a byte of it is read, one sent chunked once what has come passes it. One body is always let in
 * when none is being read, so a budget smaller than the body limit never refuses every large body.
 */
export class BodyReadBudget {
  private reading = 0

  constructor(readonly maxBytes: number) {}

  /** A claim on the budget for one body, of its declared length (0 for one sent chunked, which claims as it comes). */
  claim(declared: number): BodyClaim {
    const claim = new BodyClaim(this)
    claim.cover(declared)
    return claim
  }

  /**
   * Takes `bytes` more for a body that holds `held` already, or throws 503 `body_read_busy` when other bodies being
   * read hold the budget.
   */
  take(bytes: number, held: number): void {
    if (this.reading > held && this.reading + bytes > this.maxBytes) throw bodyReadBusy(this.maxBytes)
    this.reading += bytes
  }

  give(bytes: number): void {
    this.reading -= bytes
  }
}

/** One body's share of the budget: what it declared, or what has come of it if more. */
export class BodyClaim {
  private held = 0

  constructor(private readonly budget: BodyReadBudget) {}

  /** Makes the claim cover a body that has come to `total` bytes, refusing it 503 past the budget. */
  cover(total: number): void {
    if (total <= this.held) return
    this.budget.take(total - this.held, this.held)
    this.held = total
  }

  release(): void {
    this.budget.give(this.held)
    this.held = 0
  }
}
