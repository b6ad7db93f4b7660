import type { AlertSettings } from '../config/schema'
import type { FreeCallSlots } from '../providers/free-call-slots'
import type { AlertOutbox, DueDelivery } from './outbox'
import { signature } from './signature'

const MAX_RETRY_DELAY_MS = 3_600_000

/** The delay before attempt `attempt + 1`: the base, doubled after each failure, up to an hour. */
export const retryDelay = (baseMs: number, attempt: number) => Math.min(baseMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS)

/** The most deliveries one pass attempts. */
const DELIVERIES_PER_PASS = 20

/**
 * Posts due deliveries to their webhooks, one pass at a time. Each POST carries the alert's id as the
 * idempotency key and is signed; only a 2xx counts as delivered (a redirect is not followed: the target is
 * the operator's, exactly as configured). Anything else is retried with backoff until `max_attempts`.
 * Each POST takes one of the free-call slots, which keep the gateway's fetches under Bun's cap.
 */
export class AlertDelivery {
  private running: Promise<void> | null = null
  private stopped = false
  /** Cuts the attempts of a pass still running when the gateway stops (see `stop`). */
  private readonly cut = new AbortController()

  constructor(
    private readonly outbox: AlertOutbox,
    private readonly settings: AlertSettings,
    private readonly freeCalls: FreeCallSlots,
    private readonly log: (message: string) => void,
  ) {}

  /** One pass over what is due; a pass already running is joined, not doubled. None once stopped. */
  deliverDue(): Promise<void> {
    if (this.stopped) return this.running ?? Promise.resolve()
    this.running ??= this.pass().finally(() => (this.running = null))
    return this.running
  }

  /**
   * Starts no more passes, and gives a pass under way `graceMs` to end: a webhook that hangs must not hold
   * up a stop for its whole `delivery_timeout_ms`. Past that its attempts are cut and left as claimed: their
   * lease runs out and they are tried again (with the same alert id) after a restart, or by another replica.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true
    const running = this.running
    if (!running) return
    let timer: Timer | undefined
    await Promise.race([running, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))])
    clearTimeout(timer)
    this.cut.abort()
    await running
  }

  /**
   * No more deliveries are claimed than there are free-call slots for: with every slot taken, what is due stays
   * due for a later pass, its attempts not counted. The slots are taken once the claim is in (none is kept from a
   * free call while the database answers), so one a free call took meanwhile is given back unclaimed, due again.
   */
  private async pass(): Promise<void> {
    const room = Math.min(DELIVERIES_PER_PASS, this.freeCalls.free)
    if (room <= 0) return
    // The lease outlasts the attempt's own timeout, so a live attempt is never taken over.
    const due = await this.outbox.claimDue(Date.now(), this.settings.delivery_timeout_ms * 2, room)
    await Promise.all(
      due.map((d) => {
        const slotBack = this.freeCalls.tryTake()
        return slotBack ? this.attempt(d).finally(slotBack) : this.outbox.unclaim(d)
      }),
    )
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
