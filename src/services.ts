import type { Alerts } from './alerts/alerts'
import type { Ledger } from './budget/ledger'
import type { Config } from './config/schema'
import type { KeyStore } from './keys/key-store'
import type { Logger } from './log/logger'
import type { GatewayMetrics } from './metrics/gateway-metrics'
import type { PriceBook } from './pricing/price-book'
import type { ProviderRegistry } from './providers/registry'
import type { RequestLog } from './records/request-log'
import type { Store } from './store/store'

/** The long-lived parts of one gateway, built once at startup and handed to the plugins and routes. */
export interface Services {
  config: Config
  store: Store
  keys: KeyStore
  prices: PriceBook
  ledger: Ledger
  providers: ProviderRegistry
  requestLog: RequestLog
  metrics: GatewayMetrics
  logger: Logger
  alerts: Alerts
}
