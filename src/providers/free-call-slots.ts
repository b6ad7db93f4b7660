import { rateLimited, upstreamBusy } from '../http/errors'

/** Free-call slots kept for alert webhooks, the only ones they take: a quarter of them at most, so that a small limit still serves clients. */
const KEPT_FOR_WEBHOOKS = 4
/** The most free calls one key has in flight at once. */
export const FREE_CALLS_PER_KEY = 8

/**
 * The slots of the calls that hold nothing (token counts, stored responses passed through, alert webhooks), under
 * a limit of their own (`effectiveUpstreamLimit`), split in two shares. Clients' calls are free, so a few key
 * holders must not be able to take them all: a few slots are kept for webhooks, which clients never fill, and one
 * key has at most `FREE_CALLS_PER_KEY` in flight. Webhooks take only those kept for them: a receiver that never
 * answers holds its slots for the whole delivery timeout, pass after pass, and must not shrink the clients' share.
 * A slot is taken before the fetch and given back, once, when the fetch ends.
 */
export class FreeCallSlots {
  private used = 0
  /** Of `used`, the clients' (webhooks take the rest). */
  private byClients = 0
  private byWebhooks = 0
  private readonly byKey = new Map<string, number>()
  /** The most slots clients take; the rest wait for webhooks. */
  readonly forClients: number
  /**
   * The most slots webhooks take: the rest. A limit too small to keep any (under 4) lets them take one, shared
   * with clients, or no alert would ever be delivered.
   */
  readonly forWebhooks: number
  readonly perKey: number

  constructor(
    readonly limit: number,
    /** A client's call refused at `forClients` (not at its key's own limit). */
    private readonly onBusy: () => void = () => {},
  ) {
    this.forClients = limit - Math.min(KEPT_FOR_WEBHOOKS, Math.floor(limit / 4))
    this.forWebhooks = Math.min(limit, Math.max(1, limit - this.forClients))
    this.perKey = Math.min(FREE_CALLS_PER_KEY, this.forClients)
  }

  get inFlight(): number {
    return this.used
  }

  /** Slots a webhook could take now. */
  get freeForWebhooks(): number {
    return Math.max(0, Math.min(this.forWebhooks - this.byWebhooks, this.limit - this.used))
  }

  /**
   * A client's call: past `forClients` (or with every slot taken) 503 `upstream_busy`, past its key's `perKey` 429
   * `rate_limit_exceeded`, both with Retry-After. Returns the function that gives the slot back, once.
   */
  takeFor(keyId: string): () => void {
    if (this.byClients >= this.forClients || this.used >= this.limit) {
      this.onBusy()
      throw upstreamBusy(this.used, 'free calls')
    }
    const ofKey = this.byKey.get(keyId) ?? 0
    if (ofKey >= this.perKey)
      throw rateLimited(1, `This key already has ${ofKey} free calls (token counts, stored responses) in flight; try again shortly.`)
    this.byKey.set(keyId, ofKey + 1)
    this.byClients++
    const giveBack = this.slot()
    return () => {
      if (!giveBack()) return
      this.byClients--
      const left = this.byKey.get(keyId)! - 1
      if (left === 0) this.byKey.delete(keyId)
      else this.byKey.set(keyId, left)
    }
  }

  /** A webhook's POST: one of the webhooks' share, else null (it waits for a later round). */
  tryTakeForWebhook(): (() => void) | null {
    if (this.freeForWebhooks <= 0) return null
    this.byWebhooks++
    const giveBack = this.slot()
    return () => {
      if (giveBack()) this.byWebhooks--
    }
  }

  /** Takes a slot; the function returned gives it back the first time it is called (true then). */
  private slot(): () => boolean {
    this.used++
    let given = false
    return () => {
      if (given) return false
      given = true
      this.used--
      return true
    }
  }
}
