import { currentPeriod, nextPeriodStart, periodStart, shownPeriodStart, type BudgetPeriod } from '../budget/period'
import type { AlertSettings } from '../config/schema'
import { roomToWrite, yieldToRequests } from '../db/maintenance'
import type { AlertRows, ExpiringKey, KeySpend, UserSpend } from '../store/store'
import type { NewAlert } from './outbox'
import { codeSpan } from './code-span'

const DAY_MS = 86_400_000
/** Distinct unpriced models alerted per interval and process; past that, one alert counts the rest. */
const UNPRICED_MODELS_PER_INTERVAL = 20
const PERIODS: BudgetPeriod[] = ['daily', 'weekly', 'monthly']
/**
 * Alerts a check raises in one turn of the event loop: one lookup and one transaction. 200 were a transaction of
 * 20–45 ms once the alerts table held 300,000 rows (each alert's row and index entries at random pages): 50 keep
 * one to a few ms on a quiet machine.
 */
const RAISED_TOGETHER = 50
/** Users or keys a check reads and judges in one turn of the event loop (each up to one alert per threshold). */
const JUDGED_TOGETHER = 500

/**
 * What a check's parts pass what they judged to, between slices or pages: it raises what they found, and yields;
 * false once the gateway is stopping (the check ends there: the next one, after a restart, finds the rest).
 */
type Pause = () => Promise<boolean>

/** `judge` on each row, pausing between slices: 10,000 users over their thresholds were 100 ms of one turn. */
async function inSlices<T>(rows: readonly T[], judge: (row: T) => void, pause: Pause): Promise<void> {
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && i % JUDGED_TOGETHER === 0 && !(await pause())) return
    judge(rows[i]!)
  }
}

/**
 * `judge` on each row `read` gives, read a page at a time past the last row of the previous page (keyset; null for
 * the first page), yielding between pages: reading the 10,000 users over their thresholds at once was a single
 * statement of some 40 ms, and 300,000 keys about to expire one of some 600.
 */
async function byPages<T>(read: (after: T | null, limit: number) => Promise<T[]>, judge: (row: T) => void, pause: Pause): Promise<void> {
  for (let after: T | null = null; ; ) {
    const page = await read(after, JUDGED_TOGETHER)
    for (const row of page) judge(row)
    if (page.length < JUDGED_TOGETHER || !(await pause())) return
    after = page[page.length - 1]!
  }
}

/**
 * The alerts one check finds, raised as its parts find them, a chunk a turn, so that no more than a page's are
 * kept: 300,000 keys about to expire, all found before any was raised, were a 430 MB process on a restart's first
 * check. Knows which of those raised before are still crossed (the rest are forgotten).
 */
class CheckFindings {
  private due: NewAlert[] = []
  readonly stillRaised = new Set<string>()

  constructor(
    private readonly raisedBefore: ReadonlySet<string>,
    private readonly raise: (a: NewAlert) => Promise<unknown>,
  ) {}

  readonly found = (a: NewAlert): void => {
    if (this.raisedBefore.has(a.dedupeKey)) this.stillRaised.add(a.dedupeKey)
    else this.due.push(a)
  }

  /** Raises what was found since the last time, a chunk at a time, raised side by side (the outbox writes them together), yielding before each. */
  readonly raiseFound = async (): Promise<void> => {
    const due = this.due
    this.due = []
    await yieldToRequests()
    for (let i = 0; i < due.length; i += RAISED_TOGETHER) {
      if (i > 0) await yieldToRequests()
      await roomToWrite()
      await Promise.all(
        due.slice(i, i + RAISED_TOGETHER).map(async (a) => {
          await this.raise(a)
          this.stillRaised.add(a.dedupeKey)
        }),
      )
    }
  }
}

/** Refusals of unpriced models in one interval (its start), per model, and past the bound. */
interface UnpricedCounts {
  interval: number
  counts: Map<string, number>
  others: number
}

/**
 * A budget as its alerts' dedupe keys name it: its amount, and when it was set to it. A user's budget as created is
 * set at its creation (src/routes/admin/users.ts), so a new user given a deleted one's id is not taken for it; a
 * key's ceiling as created, and a budget set before the time was kept, are named by their amount alone, as they were.
 */
const budgetNamed = (b: { max_budget: number; budget_set_at: number | null }) =>
  b.budget_set_at == null ? `${b.max_budget}` : `${b.max_budget}@${b.budget_set_at}`
const usd = (micros: number) => `$${(micros / 1e6).toFixed(2)}`
const keyLabel = (k: { id: string; name: string | null }) => (k.name ? `${k.id} (${codeSpan(k.name)})` : k.id)

/**
 * What alerts are raised from: settled spend against each threshold (read from the tables, so it is
 * whatever every process settled), keys about to expire, and refusals of unpriced models, counted in
 * memory per interval and bounded, so that a key holder sending made-up model names cannot flood a webhook.
 */
export class AlertWatch {
  private readonly thresholds: number[]
  /** The lowest threshold, in basis points of the budget. */
  private readonly lowestBasisPoints: number
  /**
   * Dedupe keys this process has raised (or found raised) that are still crossed: each is written once, so
   * need not be tried again. Kept to those the last check found, so a key of a past period is forgotten.
   */
  private raised = new Set<string>()
  /** When the last check whose users' part judged every period (and wrote its alerts) ran; null before the first. */
  private lastCheck: number | null = null
  private unpriced: UnpricedCounts = { interval: 0, counts: new Map(), others: 0 }
  /**
   * The interval that ended with refusals no check has raised yet (those of its last check interval): the
   * next check raises them under its key, then clears it. One only, to stay bounded: it is replaced if a whole
   * interval passes without a check that raised it.
   */
  private unpricedEnded: UnpricedCounts | null = null

  constructor(
    private readonly rows: AlertRows,
    private readonly settings: AlertSettings,
  ) {
    this.thresholds = [...new Set(settings.thresholds)].sort((a, b) => a - b)
    const lowest = this.thresholds[0] ?? 100
    // Only rows past the lowest threshold: the rest cannot have crossed anything. Rounded down, so that the
    // rows read are a superset of those crossed() accepts (66.666 % reads from 6666 basis points, not 6667).
    this.lowestBasisPoints = Math.floor(lowest * 100)
  }

  /** Notes one refusal of an unpriced model of a configured provider. */
  noteUnpriced(model: string, now = Date.now()): void {
    this.rollUnpriced(now)
    const { counts } = this.unpriced
    const n = counts.get(model)
    if (n !== undefined) counts.set(model, n + 1)
    else if (counts.size < UNPRICED_MODELS_PER_INTERVAL) counts.set(model, 1)
    else this.unpriced.others++
  }

  /**
   * Every alert due now; `raise` writes each (a no-op for one already written). A part that fails (a query
   * refused) keeps no other from raising what it found; the check then throws what failed, to be logged. A
   * check whose users' part failed does not count as one (the next looks back at the periods ended since the
   * last that judged them).
   */
  async check(raise: (a: NewAlert) => Promise<unknown>, now = Date.now(), stopping: () => boolean = () => false): Promise<void> {
    // A restart's first check finds every crossing of the period again, tens of thousands on a large install.
    const findings = new CheckFindings(this.raised, raise)
    const { found, raiseFound } = findings
    const pause: Pause = async () => {
      await raiseFound()
      return !stopping()
    }
    const failures: unknown[] = []
    // A part's alerts are raised as it goes, and what it found before it failed once it has.
    const part = (run: () => Promise<void>) =>
      run()
        .finally(raiseFound)
        .catch((error) => void failures.push(error))
    let usersJudged = true
    if (this.thresholds.length > 0) {
      await part(() => this.userThresholdAlerts(now, found, pause)).then(() => (usersJudged = failures.length === 0 && !stopping()))
      await part(() => this.keyThresholdAlerts(found, pause))
    }
    if (this.settings.key_expiry_days > 0) await part(() => this.expiryAlerts(now, found, pause))
    await part(async () => {
      const ended = this.unpricedAlerts(now, found)
      await raiseFound()
      if (this.unpricedEnded === ended) this.unpricedEnded = null
    })
    this.raised = findings.stillRaised
    // The users' part judged every period and its alerts are written: the next check need not look back past
    // now, whatever another part did (one failing on every check would otherwise have each check read the
    // periods ended since the last full one again).
    if (usersJudged) this.lastCheck = now
    if (failures.length === 1) throw failures[0]
    if (failures.length > 1) throw new AggregateError(failures, failures.map((e) => (e as Error).message).join('; '))
  }

  /** How many dedupe keys this process remembers: at most the alerts its last check found crossed. */
  get remembered(): number {
    return this.raised.size
  }

  private async userThresholdAlerts(now: number, raise: (a: NewAlert) => void, pause: Pause): Promise<void> {
    await byPages<UserSpend>((after, limit) => this.rows.usersOver(this.lowestBasisPoints, after?.id ?? '', limit), (u) => this.storedPeriodThresholds(u, now, raise), pause)
    // A crossing settled in a period's last check interval (or before a crash) is first seen by a check in
    // the next period, and a request there (or a new budget) rolls the user's row to it, spend 0: the roll keeps
    // the ended period's start, spend and budget, judged by the first check after the period ended (the first
    // after a start too, as a crash may have kept the last check from it) under the key the checks within it
    // used (its stored start: one whose kind an earlier version set within it began then; the budget it ended
    // under, so a restart's check, or another replica's, finds what was raised). The outbox drops what was raised.
    for (const { period, start, end } of this.periodsEndedSince(this.lastCheck, now))
      await inSlices(await this.rows.rolledUsersOver(period, start, end, this.lowestBasisPoints), (u) => this.userThresholds(u, u.period_start, u.spend, raise), pause)
  }

  private async keyThresholdAlerts(raise: (a: NewAlert) => void, pause: Pause): Promise<void> {
    await byPages<KeySpend>((after, limit) => this.rows.keysOver(this.lowestBasisPoints, after?.id ?? '', limit), (k) => this.keyThresholds(k, raise), pause)
  }

  private async expiryAlerts(now: number, raise: (a: NewAlert) => void, pause: Pause): Promise<void> {
    const to = now + this.settings.key_expiry_days * DAY_MS
    await byPages<ExpiringKey>((after, limit) => this.rows.expiringKeys(now, to, after, limit), (k) =>
      raise({
        dedupeKey: `key_expiring:${k.id}:${k.expires_at}`,
        kind: 'key_expiring',
        subject: k.id,
        text: `tollgate: key ${keyLabel(k)} of user ${k.user_id} expires at ${new Date(k.expires_at).toISOString()}`,
        data: { key_id: k.id, user_id: k.user_id, name: k.name, expires_at: new Date(k.expires_at).toISOString() },
        // Expiring keys are those not expired yet.
        dedupeUntil: k.expires_at,
      }),
      pause,
    )
  }

  /**
   * A user's row as stored: its current period, or, when the period has ended and no request has rolled the
   * row yet, the one just ended, whose spend and budget the row still holds as they ended (a new budget rolls
   * the row first). A row holding an older period had nothing settled in the one just ended (a settlement rolls
   * it), and was judged while that was so. The one just ended is judged by the first check after its end only,
   * as a rolled row is: the checks after it have nothing new to find there.
   */
  private storedPeriodThresholds(u: UserSpend, now: number, raise: (a: NewAlert) => void): void {
    const { start, rolled, spend } = currentPeriod(u.budget_period, u.period_start, u.spend, now)
    if (!rolled) this.userThresholds(u, start, spend, raise)
    else if (u.period_start >= periodStart(u.budget_period, start - 1) && (this.lastCheck === null || this.lastCheck < start))
      this.userThresholds(u, u.period_start, u.spend, raise)
  }

  /** Each kind of period that has ended since `last` (every kind's last one when null), as [start, end). */
  private periodsEndedSince(last: number | null, now: number): { period: BudgetPeriod; start: number; end: number }[] {
    return PERIODS.map((period) => ({ period, end: periodStart(period, now) }))
      .filter(({ end }) => last === null || last < end)
      .map(({ period, end }) => ({ period, start: periodStart(period, end - 1), end }))
  }

  private userThresholds(u: UserSpend, start: number, spend: number, raise: (a: NewAlert) => void): void {
    const period = u.budget_period ?? 'lifetime'
    // A period is judged while it runs and, once ended, while the one after it runs (storedPeriodThresholds,
    // rolledUsersOver); a lifetime budget for as long as the user's spend stays past the threshold.
    const dedupeUntil = u.budget_period ? nextPeriodStart(u.budget_period, nextPeriodStart(u.budget_period, start)) : null
    for (const t of this.crossed(spend, u.max_budget))
      raise({
        // Once per threshold, period and budget: a new period (a new start) or a new budget arms them again, as a key's
        // new ceiling does, even one of an amount the period had before (its time set tells it from that one). An
        // ended period's budget is the one it ended under (see rolledUsersOver).
        dedupeKey: `budget:user:${u.id}:${start}:${budgetNamed(u)}:${t}`,
        kind: 'budget_threshold',
        subject: u.id,
        text: `tollgate: user ${u.id} has spent ${usd(spend)} of its ${u.budget_period ?? ''}${u.budget_period ? ' ' : ''}budget of ${usd(u.max_budget)} (${t}% threshold)`,
        data: { scope: 'user', user_id: u.id, threshold_percent: t, spend: spend / 1e6, max_budget: u.max_budget / 1e6, budget_period: period, period_start: shownPeriodStart(u.budget_period, start) },
        dedupeUntil,
      })
  }

  private keyThresholds(k: KeySpend, raise: (a: NewAlert) => void): void {
    for (const t of this.crossed(k.spend, k.max_budget))
      raise({
        // A key's ceiling is for its lifetime: once per threshold and ceiling (a new ceiling arms them again).
        dedupeKey: `budget:key:${k.id}:${budgetNamed(k)}:${t}`,
        kind: 'budget_threshold',
        subject: k.id,
        text: `tollgate: key ${keyLabel(k)} of user ${k.user_id} has spent ${usd(k.spend)} of its ceiling of ${usd(k.max_budget)} (${t}% threshold)`,
        data: { scope: 'key', key_id: k.id, user_id: k.user_id, threshold_percent: t, spend: k.spend / 1e6, max_budget: k.max_budget / 1e6 },
        dedupeUntil: null,
      })
  }

  private crossed(spend: number, max: number): number[] {
    return this.thresholds.filter((t) => spend * 100 >= max * t)
  }

  /**
   * Moves the counts on to the interval `now` is in, keeping an ended one's to be raised. Only forward: a check's
   * `now` is read before its slower parts, and a refusal noted meanwhile may already have rolled past it.
   */
  private rollUnpriced(now: number): void {
    const interval = now - (now % this.settings.unpriced_interval_ms)
    if (interval <= this.unpriced.interval) return
    if (this.unpriced.counts.size > 0 || this.unpriced.others > 0) this.unpricedEnded = this.unpriced
    this.unpriced = { interval, counts: new Map(), others: 0 }
  }

  /** Raises the refusals of the interval under way and of one ended unraised; returns the latter, cleared once raised. */
  private unpricedAlerts(now: number, raise: (a: NewAlert) => void): UnpricedCounts | null {
    this.rollUnpriced(now)
    const ended = this.unpricedEnded
    if (ended) this.intervalUnpricedAlerts(ended, raise)
    this.intervalUnpricedAlerts(this.unpriced, raise)
    return ended
  }

  private intervalUnpricedAlerts({ interval, counts, others }: UnpricedCounts, raise: (a: NewAlert) => void): void {
    const since = new Date(interval).toISOString()
    // An interval's counts are raised while it runs, and by the first check after it.
    const dedupeUntil = interval + 2 * this.settings.unpriced_interval_ms
    for (const [model, refusals] of counts)
      raise({
        dedupeKey: `unpriced:${model}:${interval}`,
        kind: 'unpriced_model',
        subject: model,
        text: `tollgate: ${codeSpan(model)} was asked for and refused for lack of a price (${refusals} time(s) since ${since}); price it to serve it`,
        data: { model, refusals, since },
        dedupeUntil,
      })
    if (others > 0)
      raise({
        dedupeKey: `unpriced:others:${interval}`,
        kind: 'unpriced_model',
        subject: null,
        text: `tollgate: more than ${UNPRICED_MODELS_PER_INTERVAL} unpriced models were asked for since ${since}; see the request log`,
        data: { model: null, other_refusals: others, since },
        dedupeUntil,
      })
  }
}
