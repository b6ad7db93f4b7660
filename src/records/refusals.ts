import { FORBIDDEN_CODES, PROVIDER_REFUSAL_CODES } from '../http/errors'
import type { RefusalRows } from '../store/store'
import { PruneSchedule } from './prune-schedule'

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
/** Client-chosen names: past this many distinct unpriced models, new ones are no longer recorded. */
export const MAX_UNPRICED_MODELS = 500

/**
 * The series of the console's refusal chart: the gateway's own refusals (402 budget, 402 pricing, 403, 429), and
 * apart from them a provider's own 402 or 429 answered with its status (`upstream`): those are the provider's
 * (out of credits, rate limited), not the gateway's, and an operator does something else about them.
 */
export type RefusalKind = 'budget' | 'pricing' | 'forbidden' | 'rate_limited' | 'upstream'
export const REFUSAL_KINDS: readonly RefusalKind[] = ['budget', 'pricing', 'forbidden', 'rate_limited', 'upstream']

const KIND_OF_CODE = new Map<string, RefusalKind>([
  ['budget_exceeded', 'budget'],
  ['pricing_required', 'pricing'],
  ['rate_limit_exceeded', 'rate_limited'],
  ...PROVIDER_REFUSAL_CODES.map((code) => [code, 'upstream'] as const),
  ...FORBIDDEN_CODES.map((code) => [code, 'forbidden'] as const),
])

/** The series a counted code is charted in; none for a code of no series (it is still in the totals per code). */
export const refusalKind = (code: string): RefusalKind | undefined => KIND_OF_CODE.get(code)

/**
 * What the console's overview shows of refusals: a count per hour and error code, and the models of
 * configured providers that were asked for while unpriced. Both are written in the background by the
 * store, like the request log, added up across processes, and neither grows with what a client sends.
 */
export class RefusalRecord {
  private readonly pruning: PruneSchedule

  constructor(private readonly rows: RefusalRows, private readonly retentionDays: number) {
    this.pruning = new PruneSchedule('refusal-count', () => this.pruneOld())
  }

  /** Budget and pricing refusals (402), forbidden (403) and rate limited (429), the gateway's or a provider's: what an operator acts on. */
  refused(code: string, now = Date.now()): void {
    this.rows.count(Math.floor(now / HOUR_MS) * HOUR_MS, code)
  }

  /** `model` is canonical (`provider:model`) and its provider configured: the caller resolved it. */
  unpricedModelAsked(model: string, now = Date.now()): void {
    this.rows.unpriced(model, now, MAX_UNPRICED_MODELS)
  }

  async pruneOld(now = Date.now()): Promise<number> {
    if (this.retentionDays === 0) return 0
    return this.rows.prune(now - this.retentionDays * DAY_MS)
  }

  stop(): void {
    this.pruning.stop()
  }
}
