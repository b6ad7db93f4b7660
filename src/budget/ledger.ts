import { budgetHeldInFlight, forbidden, GatewayError, gatewayStopping, notFound, paymentRequired, unauthorized } from '../http/errors'
import { Hold, type HeldTokens } from './hold'
import { recordedLatency } from '../records/latency'
import { recordedCount } from '../records/token-count'
import { microsToUsd } from './money'
import { currentPeriod, type BudgetPeriod } from './period'
import { budgetLeft } from './remaining'

export interface HoldRequest {
  requestId: string
  userId: string
  keyId: string | null
  /** The hash of the secret the request authenticated with (with `keyId`): the key's row must still hold it. */
  keyHash: string | null
  /** The worst-case cost, micro-USD. */
  amount: number
  /**
   * With the output clamp: the least hold the request can run on, micro-USD. A budget that cannot cover
   * `amount` but covers this gets a hold of all it has left (decided under the write lock, like any hold),
   * and the caller sends upstream only the output that hold pays for.
   */
  minAmount?: number
  /**
   * With the output clamp: the hold that `left` micro-USD (at least `minAmount`) pays for, the worst case of the
   * most output it covers. The hold then prices exactly the output the caller sends upstream, so that charged
   * whole it costs what its tokens do, not the rest of the budget.
   */
  fitTo?: (left: number) => Pick<HoldRequest, 'amount' | 'heldTokens'>
  /**
   * The tokens `amount` prices (admission's estimate, after the clamp the ones `fitTo` gave): what the hold is
   * recorded as when it is charged whole, by its owner or by the sweeper, which reads them from the reservation.
   * Absent (a hold written by an older version): 0 in, 0 out.
   */
  heldTokens?: HeldTokens
  model: string
  provider: string
  endpoint: string
  priceId: number | null
  stream: boolean
}

export type SettleStatus = 'ok' | 'error' | 'aborted' | 'expired'

/**
 * Told of every settlement this process makes (for metrics), with what the hold was for: once it is committed,
 * and only if it charged the hold (not one the sweeper, or an earlier settlement, got to first).
 */
export type SettleObserver = (hold: Pick<HoldRequest, 'requestId' | 'model' | 'provider'>, outcome: Outcome) => void

/**
 * Told, once committed, of a settlement of this process that found its hold already charged whole by a sweep (a TTL
 * below the upstream timeout, a replica's sweep after a clock step), with what its usage reported past that charge:
 * nobody charges it, so it is logged and counted as any unbilled excess is, though the charge itself is the sweep's.
 */
export type SweptFirstObserver = (hold: Pick<HoldRequest, 'requestId' | 'model' | 'provider'>, unbilled: PastSweptHold) => void

/** What a usage reported past the whole-hold charge a sweep made before its settlement (unbilledPastSweptHold). */
export interface PastSweptHold {
  unbilledInputTokens: number
  unbilledOutputTokens: number
  /** Uses of each priced server tool past those held for it (cap-output on). */
  unbilledToolUses?: Record<string, number>
  /** Micro-USD its usage came to, at the rates it reported, past the hold's amount (with cap-output off, the overshoot). */
  unbilledCost: number
}

export interface Outcome {
  /** Micro-USD actually charged. */
  cost: number
  promptTokens: number
  completionTokens: number
  cachedTokens: number
  /** The part of promptTokens written to the provider's prompt cache. */
  cacheWriteTokens?: number
  /** Uses of billed server tools, by the price book's names. */
  serverToolUses?: Record<string, number>
  status: SettleStatus
  latencyMs: number
  /**
   * Whether the answer was relayed as a stream, where the route learns it only from the answer (audio: a provider
   * reads its own `stream` field): the usage row records this in place of what the hold was asked for.
   */
  stream?: boolean
  /** Output tokens the usage reported past the max the provider was sent, not charged (cap-output on). */
  unbilledOutputTokens?: number
  /** Input tokens the usage reported past the input held, of a request whose input the estimate bounds, not charged (cap-output on). */
  unbilledInputTokens?: number
  /** Uses of each priced server tool the usage reported past those held for it, not charged (cap-output on). */
  unbilledToolUses?: Record<string, number>
  /**
   * Micro-USD a usage's rates came to past those the hold priced, not charged (cap-output on): a tier or geography
   * dearer than held, audio tokens in an answer to a request held at the text rates.
   */
  unbilledRateCost?: number
}

/**
 * A hold as the ledger took it. Its owner keeps it in memory, so that settling writes from it and reads
 * nothing back (the sweeper, which has no owner's copy, reads it from the reservations table).
 */
export interface TakenHold {
  id: number
  request: HoldRequest
  createdAt: number
  /** The user's budget left after this hold, micro-USD; null for an unlimited user. */
  remainingAfter: number | null
}

/** A user's budget figures as stored, read under the store's lock. */
export interface UserFigures {
  blocked: boolean
  maxBudget: number | null
  spend: number
  reserved: number
  budgetPeriod: BudgetPeriod | null
  periodStart: number
}

/** A key's ceiling figures as stored, and whether it is still live (read on the same row, under the same lock). */
export interface KeyFigures {
  maxBudget: number | null
  spend: number
  reserved: number
  /** The hash of its current secret: a rotation changes it. */
  keyHash: string
  revokedAt: number | null
  expiresAt: number | null
}

/** A hold a sweep settled, and what it was charged. */
export interface SweptHold {
  hold: TakenHold
  outcome: Outcome
}

/** What the rules decided for a hold; the store writes exactly this. */
interface HoldDecision {
  /** The hold to take (the clamp may have lowered it). */
  request: HoldRequest
  /** The user's period has ended: spend back to 0 and period_start to this, with the debit. */
  rollTo: number | null
  /** The key has a ceiling, so its `reserved` carries the hold. */
  keyDebited: boolean
  remainingAfter: number | null
}

/** Expired holds one sweep step settles where no request waits for it: on the database (Postgres), or before the port opens. */
export const SWEEP_BATCH = 100

/**
 * The storage under the ledger: SQLite (src/store/sqlite) or Postgres (src/store/postgres). It reads a
 * budget's figures under its lock, asks `decideHold` (the rules, written once, here) and writes what that
 * decides, settles a hold at most once, and claims expired holds so that only one process charges each.
 */
export interface LedgerStore {
  /** Reads the figures under a lock held until the decision is written; resolves once it is committed. */
  reserve(r: HoldRequest, now: number, ttlMs: number): Promise<TakenHold | GatewayError>
  /**
   * Settles in the background (grouped with its neighbours); a hold already settled is left alone. Calls
   * `onSettled` once the settlement is committed: `charged` true if it was this settlement that settled the hold
   * (its write landed, however many tries that took), false if the hold was gone (a sweep got there first).
   */
  settle(hold: TakenHold, outcome: Outcome, now: number, onSettled?: (charged: boolean) => void): void
  /**
   * Settles at most `limit` holds past their expiry, in one transaction, with the outcome `charge` gives
   * each (a settlement still queued lands first), leaving out those whose ids `running` lists (the sweeping
   * process's own, still running); resolves, once committed, to those this process settled
   * (not those another process or a settlement got to first). A hold expires
   * `ttlMs` after the `now` it was reserved at, and is swept once the sweep's `now` reaches that: a store
   * shared by several hosts (Postgres) measures both on one clock, the database's, as the hosts' may differ.
   */
  sweepBatch(now: number, charge: (hold: TakenHold, now: number) => Outcome, limit: number, running: readonly number[]): Promise<SweptHold[]>
  /** The most holds a sweeper's step settles (its `limit`): fewer where a step runs on the request thread (SQLite). */
  readonly sweepStep: number
  userExists(userId: string): Promise<boolean>
  /** Writes every queued settlement now; readers of spend and usage await this first. */
  flush(): Promise<void>
}

/** A blocked user's key is refused everything that reaches a provider. */
export const userBlocked = () => forbidden('user_blocked', 'This user is blocked.')

/**
 * The reservation rule (SPEC §6), given the figures read under the store's lock: refuse a key that is gone,
 * revoked, expired or rotated away from the request's secret, roll an ended period, check the user's and the
 * key's ceilings, lower the hold to what is left when the clamp allows (down to `minAmount`, then to the worst case
 * of the output that fits: `fitTo`), or refuse with what is left. A refusal is returned, not thrown.
 */
export function decideHold(r: HoldRequest, user: UserFigures | null, key: KeyFigures | null, now: number): HoldDecision | GatewayError {
  // The key's row, not a process's cache of it: revocation, expiry and rotation are exact for whatever costs money,
  // even on a replica whose cache missed the change (its news lost), as authentication would refuse the key (or
  // the old secret). Its row gone with its user (deleted, perhaps created again under the same id): the key no
  // longer exists either, and that is all its holder learns — not that the user is gone. Whatever the hold's
  // amount (a free model's 0 too), and before the budgets: a dead key learns nothing of them.
  if (r.keyId !== null && !isLiveKey(key, r.keyHash, now)) return unauthorized()
  if (!user) return notFound(`No user with id ${JSON.stringify(r.userId)}.`, 'user_not_found')
  if (user.blocked) return userBlocked()
  const { start, rolled, spend } = currentPeriod(user.budgetPeriod, user.periodStart, user.spend, now)
  const least = Math.min(r.minAmount ?? r.amount, r.amount)
  const userBudget = { max_budget: user.maxBudget, spend, reserved: user.reserved }
  const keyBudget = key && key.maxBudget !== null ? { max_budget: key.maxBudget, spend: key.spend, reserved: key.reserved } : null
  let amount = r.amount
  if (user.maxBudget !== null && spend + user.reserved + amount > user.maxBudget) {
    amount = user.maxBudget - spend - user.reserved
    if (amount < least) {
      // Held only in flight, the user's budget would invite a retry; not one the key's own spend refuses for good.
      if (onlyHeldInFlight(userBudget, least) && keyBudget && !onlyHeldInFlight(keyBudget, least)) return budgetExceeded('key', keyBudget, least)
      return budgetExceeded('user', userBudget, least)
    }
  }
  // A key without a ceiling has nothing to check a hold against, so its row is left alone until
  // settlement adds the cost to its spend: one row fewer in the commit the request waits for.
  let keyDebited = false
  if (keyBudget) {
    if (keyBudget.spend + keyBudget.reserved + amount > keyBudget.max_budget) {
      amount = keyBudget.max_budget - keyBudget.spend - keyBudget.reserved
      if (amount < least) return budgetExceeded('key', keyBudget, least)
    }
    keyDebited = true
  }
  // A clamped hold is held, settled and swept as the amount it got, and the tokens that amount prices.
  const request = amount === r.amount ? r : r.fitTo ? { ...r, ...r.fitTo(amount) } : { ...r, amount }
  const remainingAfter = user.maxBudget === null ? null : user.maxBudget - spend - user.reserved - request.amount
  return { request, rollTo: rolled ? start : null, keyDebited, remainingAfter }
}

/** A key row that is there, not revoked, not expired at `now`, and whose secret is still the one hashed `keyHash`. */
export const isLiveKey = <K extends Pick<KeyFigures, 'keyHash' | 'revokedAt' | 'expiresAt'>>(key: K | null, keyHash: string | null, now: number): key is K =>
  key !== null && key.keyHash === keyHash && key.revokedAt === null && (key.expiresAt === null || key.expiresAt > now)

/**
 * The settlement rule (SPEC §6) for the user's period: the cost joins the spend of the period the
 * settlement is made in, the one its usage row is dated in. A settlement (or the sweeper's charge) that
 * lands after the user's period has ended rolls it first, exactly as a reservation does: spend starts
 * again from 0 at the new period's start, `reserved` untouched (the hold still leaves it); then the cost
 * is added. So a hold taken before midnight and settled after it counts in the new period whether the
 * settlement or another request's hold reaches the ended period first. Returns the start to roll to, or
 * null when the period has not ended (or the user has none). Never rolls back: a settlement dated before
 * the stored period (one rolled since, by another process or a clock a little ahead, or moved by a change
 * of its kind to a period begun since) adds to the stored period, and its usage row is dated in it
 * (settlementDate).
 *
 * A store that settles many users' holds in one statement and reads their kind of period only there
 * (Postgres) gives each settlement every kind's start at its `now` (periodStarts); the statement takes its
 * user's kind and rolls where the stored period_start is older: this rule, in SQL.
 */
export function settlementRollTo(user: Pick<UserFigures, 'budgetPeriod' | 'periodStart'>, now: number): number | null {
  const { start, rolled } = currentPeriod(user.budgetPeriod, user.periodStart, 0, now)
  return rolled ? start : null
}

/**
 * When a settlement's usage row is dated: its `now`, or the stored period's start when that period began
 * after it. A settlement is dated when it is asked for but written later (a lane's few milliseconds, a lock
 * wait, a Postgres batch); a period begun meanwhile gets its cost (settlementRollTo), so its row is dated
 * there too, and spend stays the sum of the usage rows dated since period_start. Postgres: SETTLE's
 * GREATEST(created_at, period_start), with period_start as it stood before the statement.
 */
export function settlementDate(user: Pick<UserFigures, 'periodStart'> | null, now: number): number {
  return user === null ? now : Math.max(now, user.periodStart)
}

/**
 * A hold nobody settled in time (a crash, a lost task) is charged at its full amount: the provider may
 * have done all the work, and the hold was the most it could have cost. Like any whole-hold charge
 * (Hold.wholeCharge) it is recorded as the tokens the hold priced. Its latency is its age, which has
 * no bound (every replica down for a month), so it is recorded as recordedLatency says.
 */
export const expiredOutcome = (hold: TakenHold, now: number): Outcome =>
  withRecordedCounts({
    cost: hold.request.amount, promptTokens: 0, completionTokens: 0, ...hold.request.heldTokens, cachedTokens: 0, status: 'expired',
    latencyMs: recordedLatency(now - hold.createdAt),
  })

/**
 * What a settlement that finds its hold already swept leaves unbilled. The sweep charged the hold's amount, recorded as
 * the tokens it priced (expiredOutcome): the tokens the usage reported past those, and what it came to past that
 * amount, are charged by nobody. What the settlement itself left unbilled (cap-output) is within those, but for its
 * server tool uses, which the sweep's row does not count. Nothing past the hold: null.
 */
function unbilledPastSweptHold(request: Pick<HoldRequest, 'amount' | 'heldTokens'>, o: Outcome): PastSweptHold | null {
  const held = request.heldTokens ?? { promptTokens: 0, completionTokens: 0 }
  const unbilled: PastSweptHold = {
    unbilledInputTokens: Math.max(0, o.promptTokens - held.promptTokens),
    unbilledOutputTokens: Math.max(0, o.completionTokens - held.completionTokens),
    ...(o.unbilledToolUses && { unbilledToolUses: o.unbilledToolUses }),
    unbilledCost: Math.max(0, o.cost + (o.unbilledRateCost ?? 0) - request.amount),
  }
  const nothing = unbilled.unbilledInputTokens === 0 && unbilled.unbilledOutputTokens === 0 && !unbilled.unbilledToolUses && unbilled.unbilledCost === 0
  return nothing ? null : unbilled
}

/**
 * An outcome's counts as a usage row records them, at most MAX_TOKEN_COUNT each, whatever path they came by (a
 * provider's usage, or the tokens a whole hold priced: a free model's hold prices any max output), so that no
 * settlement is refused for its numbers in either store and the totals over them still answer.
 */
const withRecordedCounts = (o: Outcome): Outcome => ({
  ...o,
  promptTokens: recordedCount(o.promptTokens),
  completionTokens: recordedCount(o.completionTokens),
  cachedTokens: recordedCount(o.cachedTokens),
  ...(o.cacheWriteTokens === undefined ? {} : { cacheWriteTokens: recordedCount(o.cacheWriteTokens) }),
})

/**
 * The budget ledger: reserve before the provider is called, settle after. The rules are here and in
 * `decideHold`; the store decides nothing, it only keeps the figures consistent across processes.
 */
export class Ledger {
  /** Holds this process has taken and not yet handed to settlement: what a graceful stop waits for. */
  private open = 0
  /** The holds this process has taken and not yet settled: when each was taken, by performance.now(). */
  private readonly running = new Map<number, number>()
  private readonly stopping = new AbortController()

  constructor(
    private readonly store: LedgerStore,
    private readonly ttlMs: number,
    private readonly observe: SettleObserver = () => {},
    private readonly observeSweptFirst: SweptFirstObserver = () => {},
  ) {}

  /**
   * Takes a hold of `r.amount` on the user's (and key's) budget, or refuses: 402 over budget, 403 blocked,
   * 404 unknown user, 401 a key that no longer exists. The promise settles once the hold is committed, so the provider is never called on
   * a hold that is not on disk. Resolves to the handle that must end in exactly one settle or release.
   * Once the stop has cut the calls it refuses (503 gateway_stopping): the call would not be sent, and its
   * release could reach a store already closing, leaving the hold for the sweeper to charge in full.
   */
  async reserve(r: HoldRequest, now = Date.now()): Promise<Hold> {
    if (this.stopping.signal.aborted) throw gatewayStopping()
    // Counted from the moment it is asked for, so that a graceful stop also waits for holds still queued.
    this.open++
    const takenAt = performance.now()
    try {
      const taken = await this.store.reserve(r, now, this.ttlMs)
      if (taken instanceof GatewayError) throw taken
      this.running.set(taken.id, takenAt)
      return new Hold(this, taken)
    } catch (error) {
      this.open--
      throw error
    }
  }

  /**
   * Settles a hold: the hold leaves `reserved`, the cost joins `spend`, a usage row is written. Nobody
   * waits for this, so the store groups it with its neighbours; until then the hold still counts, which
   * only makes the budget stricter. A hold a sweep charged first is charged nothing more, but what its usage
   * reported past that charge is told (unbilledPastSweptHold).
   */
  settle(hold: TakenHold, outcome: Outcome, now = Date.now()): void {
    this.open--
    this.running.delete(hold.id)
    const recorded = withRecordedCounts(outcome)
    this.store.settle(hold, recorded, now, (charged) => {
      if (charged) return this.observe(hold.request, recorded)
      const unbilled = unbilledPastSweptHold(hold.request, recorded)
      if (unbilled) this.observeSweptFirst(hold.request, unbilled)
    })
  }

  /** Settles every hold past its expiry at its full amount, batch after batch; returns how many. */
  async sweep(now = Date.now()): Promise<number> {
    let total = 0
    for (let n = await this.sweepBatch(now); n > 0; n = await this.sweepBatch(now)) total += n
    return total
  }

  /** The most holds a sweepBatch settles: fewer than that, and none are left. */
  get sweepStep(): number {
    return this.store.sweepStep
  }

  /** Settles at most `sweepStep` expired holds in one short transaction; returns how many. */
  async sweepBatch(now = Date.now()): Promise<number> {
    const swept = await this.store.sweepBatch(now, expiredOutcome, this.store.sweepStep, this.holdsStillRunning())
    for (const { hold, outcome } of swept) this.observe(hold.request, outcome)
    return swept.length
  }

  /**
   * This process's holds younger than the TTL by the monotonic clock: their requests are still running, and
   * settle them at their real cost, whatever the wall clock says (stepped past their expiry by NTP, a VM
   * resumed), so its sweeps leave them alone. One open longer is a lost task's, and swept as a crashed
   * process's would be.
   */
  private holdsStillRunning(): number[] {
    const takenSince = performance.now() - this.ttlMs
    const ids: number[] = []
    for (const [id, takenAt] of this.running) {
      if (takenAt > takenSince) ids.push(id)
      else this.running.delete(id)
    }
    return ids
  }

  /** Whether a user exists: the master key may name one that does not. */
  userExists(userId: string): Promise<boolean> {
    return this.store.userExists(userId)
  }

  get openHolds(): number {
    return this.open
  }

  /**
   * Aborted once a stop has waited long enough (`cutCalls`): every provider call paid for by one of this
   * process's holds is cut, and none is made any more (see callUpstream).
   */
  get callsCut(): AbortSignal {
    return this.stopping.signal
  }

  /**
   * Cuts the provider calls still running when a stop's grace is over, so that each is settled here, as
   * at the gateway's own timeout, rather than left open for the sweeper to charge in full as `expired`.
   */
  cutCalls(): void {
    this.stopping.abort()
  }

  /** Waits until every hold this process took is settled, or the deadline passes. Returns what is still open. */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs
    while (this.open > 0 && performance.now() < deadline) await Bun.sleep(10)
    return this.open
  }

  /** Writes every queued settlement now; readers of spend and usage await this first. */
  flush(): Promise<void> {
    return this.store.flush()
  }
}

/**
 * The 402 for a hold of `amount` the budget does not cover. One that its spend alone would cover is refused only
 * for the holds of requests in flight (their worst cases): once they settle, at what they cost, it may fit, so it
 * invites a retry (`budgetHeldInFlight`); a budget spent comes back the same.
 */
function budgetExceeded(
  scope: 'user' | 'key',
  figures: { max_budget: number | null; spend: number; reserved: number },
  amount: number,
) {
  const left = `$${microsToUsd(budgetLeft(figures.max_budget ?? 0, figures.spend, figures.reserved)).toFixed(6)}`
  const cost = `$${microsToUsd(amount).toFixed(6)}`
  if (onlyHeldInFlight(figures, amount))
    return budgetHeldInFlight(
      `Budget exceeded for this ${scope} while requests in flight hold it: ${left} remaining until they settle, and this request may cost up to ${cost}. Try again shortly.`,
    )
  return paymentRequired('budget_exceeded', `Budget exceeded for this ${scope}: ${left} remaining, and this request may cost up to ${cost}.`)
}

/** Whether the spend alone leaves room for a hold of `amount`: a budget it does not cover is taken only by holds in flight. */
const onlyHeldInFlight = (figures: { max_budget: number | null; spend: number }, amount: number) =>
  figures.max_budget !== null && figures.spend + amount <= figures.max_budget
