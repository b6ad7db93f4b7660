import type { AlertSettings } from '../config/schema'
import type { FreeCallSlots } from '../providers/free-call-slots'
import type { AlertOutbox, DueDelivery } from './outbox'
import { signature } from './signature'

const MAX_RETRY_DELAY_MS = 3_600_000

/** The delay before attempt `attempt + 1`: the base, doubled after each failure, up to an hour. */
export const retryDelay = (baseMs: number, attempt: number) => Math.min(baseMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS)

/** What a claiming round started: its attempts, ended (each failure of theirs logged) when this resolves. */
interface Round {
  ended: Promise<void>
}

/**
 * Posts due deliveries to their webhooks. Each POST carries the alert's id as the idempotency key and is signed;
 * only a 2xx counts as delivered (a redirect is not followed: the target is the operator's, exactly as
 * configured). Anything else is retried with backoff until `max_attempts`.
 *
 * Each POST takes one of the free-call slots kept for webhooks (FreeCallSlots.forWebhooks), which keep the
 * gateway's fetches under Bun's cap, and each webhook has at most an equal part of them in flight: one that never
 * answers holds its own for the whole delivery timeout while the others' deliveries go on. Deliveries are claimed
 * one round at a time, each webhook's apart (up to the room it has); a round does not wait for the attempts it
 * starts (each claim's lease keeps it theirs), and an attempt that ends starts another round, so that a webhook's
 * backlog goes as fast as its receiver answers.
 */
export class AlertDelivery {
  private claiming: Promise<Round> | null = null
  /** A round was asked for while one was claiming: another runs after it, seeing the room freed meanwhile. */
  private claimAgain = false
  private readonly attempts = new Set<Promise<void>>()
  /** Attempts under way per webhook. */
  private readonly inFlight = new Map<string, number>()
  /** Which webhook a round claims for first: each in turn, so that none is always last to find a slot free. */
  private turn = 0
  private stopped = false
  /** Cuts the attempts still running when the gateway stops (see `stop`). */
  private readonly cut = new AbortController()

  constructor(
    private readonly outbox: AlertOutbox,
    private readonly settings: AlertSettings,
    private readonly freeCalls: FreeCallSlots,
    private readonly log: (message: string) => void,
  ) {}

  /**
   * Claims what is due for each webhook with room and starts those attempts; resolves once they have ended. A
   * round already claiming is joined (another runs after it), not doubled. None once stopped.
   */
  deliverDue(): Promise<void> {
    if (!this.stopped && this.claiming) this.claimAgain = true
    else if (!this.stopped)
      this.claiming = this.claimRound().finally(() => {
        this.claiming = null
        if (!this.claimAgain) return
        this.claimAgain = false
        this.deliverSoon()
      })
    return this.claiming ? this.claiming.then((round) => round.ended) : Promise.resolve()
  }

  /**
   * Starts no more rounds, and gives the attempts under way `graceMs` to end: a webhook that hangs must not hold
   * up a stop for its whole `delivery_timeout_ms`. Past that they are cut and left as claimed: their lease runs
   * out and they are tried again (with the same alert id) after a restart, or by another replica.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true
    const idle = this.idle()
    let timer: Timer | undefined
    await Promise.race([idle, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))])
    clearTimeout(timer)
    this.cut.abort()
    await idle
  }

  /** Resolves once no round is claiming and no attempt is under way. */
  private async idle(): Promise<void> {
    while (this.claiming || this.attempts.size > 0) await Promise.allSettled([this.claiming, ...this.attempts])
  }

  private deliverSoon(): void {
    void this.deliverDue().catch((error) => this.log(`alert delivery failed: ${(error as Error).message}`))
  }

  /**
   * No more deliveries are claimed than the webhooks' free slots hold: with none free, what is due stays due for a
   * later round, its attempts not counted. The slots are taken once the claim is in (under a limit too small to
   * keep any for webhooks, theirs is shared with free calls and none is kept from one while the database
   * answers), so one a free call took meanwhile is given back unclaimed, due again.
   */
  private async claimRound(): Promise<Round> {
    const webhooks = Object.keys(this.settings.webhooks)
    const started: Promise<void>[] = []
    if (webhooks.length === 0) return { ended: Promise.resolve() }
    const perWebhook = Math.max(1, Math.floor(this.freeCalls.forWebhooks / webhooks.length))
    const first = this.turn++ % webhooks.length
    for (const webhook of [...webhooks.slice(first), ...webhooks.slice(0, first)]) {
      const room = Math.min(perWebhook - (this.inFlight.get(webhook) ?? 0), this.freeCalls.freeForWebhooks)
      if (room <= 0) continue
      // The lease outlasts the attempt's own timeout, so a live attempt is never taken over.
      for (const d of await this.outbox.claimDue(webhook, Date.now(), this.settings.delivery_timeout_ms * 2, room)) {
        const slotBack = this.freeCalls.tryTakeForWebhook()
        started.push(slotBack ? this.attemptInSlot(d, slotBack) : this.outbox.unclaim(d))
      }
    }
    return { ended: Promise.all(started).then(() => {}) }
  }

  /** The attempt, counted as its webhook's until it ends; then its slot goes back and its webhook's next due can go. */
  private attemptInSlot(d: DueDelivery, slotBack: () => void): Promise<void> {
    this.inFlight.set(d.webhook, (this.inFlight.get(d.webhook) ?? 0) + 1)
    const attempt: Promise<void> = this.attempt(d)
      .catch((error) => this.log(`alert delivery failed: ${(error as Error).message}`))
      .finally(() => {
        slotBack()
        const left = this.inFlight.get(d.webhook)! - 1
        if (left > 0) this.inFlight.set(d.webhook, left)
        else this.inFlight.delete(d.webhook)
        this.attempts.delete(attempt)
        if (!this.stopped) this.deliverSoon()
      })
    this.attempts.add(attempt)
    return attempt
  }

  private async attempt(d: DueDelivery): Promise<void> {
    // Configured: the outbox claims deliveries to this process's webhooks only.
    const webhook = this.settings.webhooks[d.webhook]!
    const timestamp = Math.floor(Date.now() / 1000)
    let problem: string
    try {
      const res = await fetch(webhook.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.settings.delivery_timeout_ms), this.cut.signal]),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tollgate-alerts',
          'idempotency-key': d.alertId,
          'x-tollgate-alert-id': d.alertId,
          'x-tollgate-timestamp': String(timestamp),
          'x-tollgate-signature': signature(webhook.secret, timestamp, d.payload),
        },
        body: d.payload,
      })
      await res.body?.cancel()
      if (res.ok) return this.outbox.delivered(d)
      problem = `HTTP ${res.status}`
    } catch (error) {
      if (this.cut.signal.aborted) return // cut by a stop: the claim's lease brings it back
      problem = (error as Error).name === 'TimeoutError' ? 'timed out' : `no answer (${(error as Error).message})`
    }
    const last = d.attempt >= this.settings.max_attempts
    const written = await this.outbox.attemptFailed(d, problem, last ? null : Date.now() + retryDelay(this.settings.retry_base_ms, d.attempt))
    if (last && written) this.log(`alert ${d.alertId} could not be delivered to webhook ${d.webhook} after ${d.attempt} attempts (${problem})`)
  }
}
