import type { Alerts } from './alerts/alerts'
import type { Ledger } from './budget/ledger'
import type { SessionStore } from './console/sessions'
import type { Config } from './config/schema'
import type { KeyStore } from './keys/key-store'
import type { Logger } from './log/logger'
import type { RateLimiter } from './http/gcra'
import type { GatewayMetrics } from './metrics/gateway-metrics'
import type { PriceBook } from './pricing/price-book'
import type { ProviderRegistry } from './providers/registry'
import type { RequestsInHandling } from './plugins/request-context'
import type { FreeCallSlots } from './providers/free-call-slots'
import type { UpstreamSlots } from './providers/upstream-slots'
import type { RecordsReads } from './records/records-reader'
import type { RefusalRecord } from './records/refusals'
import type { StoredResponseRetention } from './records/stored-retention'
import type { RequestLog } from './records/request-log'
import type { Store } from './store/store'
import type { ChangeFeed } from './redis/change-feed'
import type { RedisLink } from './redis/link'

/** The long-lived parts of one gateway, built once at startup and handed to the plugins and routes. */
export interface Services {
  config: Config
  /**
   * Where everything the gateway keeps lives (users, keys, prices, holds, usage, the request log, alerts,
   * console sessions, refusal counts): one SQLite file, or one Postgres database shared by every replica.
   */
  store: Store
  keys: KeyStore
  prices: PriceBook
  ledger: Ledger
  providers: ProviderRegistry
  upstream: UpstreamSlots
  /** The calls that hold nothing (token counts, stored responses, alert webhooks), under a limit of their own. */
  freeCalls: FreeCallSlots
  /** Requests being handled now, until their answer is handed over (request-context): a stop's grace waits for them. */
  inHandling: RequestsInHandling
  requestLog: RequestLog
  /** The records queries, off the request thread. */
  records: RecordsReads
  refusals: RefusalRecord
  storedRetention: StoredResponseRetention
  sessions: SessionStore
  metrics: GatewayMetrics
  logger: Logger
  alerts: Alerts
  /** Redis, when configured (TOLLGATE_REDIS_URL): shared rate limits and news of changes for other replicas. */
  redis: RedisLink | null
  changes: ChangeFeed | null
  /** Per client address, per key, and the console's sign-in attempts per client address. */
  rateLimits: { ip: RateLimiter; key: RateLimiter; signIn: RateLimiter }
}
