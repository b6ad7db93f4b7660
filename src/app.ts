import { Elysia } from 'elysia'
import { Alerts } from './alerts/alerts'
import { Ledger } from './budget/ledger'
import { consoleRoutes } from './console/ui-routes'
import { sessionRoutes } from './console/session-routes'
import { SessionStore } from './console/sessions'
import type { Config } from './config/schema'
import { KeyStore } from './keys/key-store'
import { createLogger } from './log/logger'
import { RoutePatterns } from './http/route-patterns'
import { GatewayMetrics } from './metrics/gateway-metrics'
import { settlementObservers } from './metrics/settlement-observers'
import { auth } from './plugins/auth'
import { bodyLimit } from './plugins/body-limit'
import { corsHeaders, corsPreflight } from './plugins/cors'
import { errors } from './plugins/errors'
import { ipRateLimit, keyRateLimit } from './plugins/rate-limit'
import { requestContext, requireUsableTarget } from './plugins/request-context'
import { idleTimeoutRestore } from './plugins/idle-timeout'
import { IDLE_TIMEOUT_SEC } from './http/idle-timeout'
import { requestLogger } from './plugins/request-log'
import { securityHeaders } from './plugins/security-headers'
import { PriceBook } from './pricing/price-book'
import { GcraLimiter } from './http/gcra'
import { ChangeFeed } from './redis/change-feed'
import { RedisLink } from './redis/link'
import { RATE_LIMIT_PROBE, SharedRateLimiter } from './redis/rate-limiter'
import { ProviderRegistry } from './providers/registry'
import { FreeCallSlots } from './providers/free-call-slots'
import { FREE_CALLS, UpstreamSlots } from './providers/upstream-slots'
import { RefusalRecord } from './records/refusals'
import { StoredResponseRetention } from './records/stored-retention'
import { RequestLog } from './records/request-log'
import { adminRoutes } from './routes/admin'
import { audioRoutes } from './routes/audio'
import { chatRoutes } from './routes/chat'
import { countTokensRoutes } from './routes/count-tokens'
import { docsRoutes } from './routes/docs'
import { embeddingsRoutes } from './routes/embeddings'
import { healthRoutes } from './routes/health'
import { keySelfRoutes } from './routes/key'
import { messagesRoutes } from './routes/messages'
import { metricsRoutes } from './routes/metrics'
import { modelsRoutes } from './routes/models'
import { moderationsRoutes } from './routes/moderations'
import { responsesRoutes } from './routes/responses'
import type { Services } from './services'
import { openStore } from './store/open'
import { DatabaseReadOnly } from './store/read-only'

/** What Bun's fetch cap leaves the free calls (`effectiveUpstreamLimit`); `FREE_CALLS` unless given. */
interface ServiceOptions {
  freeCalls?: number
}

export async function createServices(config: Config, options: ServiceOptions = {}): Promise<Services> {
  const store = await openStore(config)
  const providers = new ProviderRegistry(config)
  const prices = new PriceBook(store.prices, config.cache_ttl_ms)
  // Prices are kept under the canonical `provider:model`, whichever way the file spells the model.
  await prices.seed(Object.fromEntries(Object.entries(config.pricing).map(([model, seed]) => [providers.resolve(model)?.canonical ?? model, seed])))
  let ledger: Ledger | undefined
  // A metrics label names only models the operator chose: aliased, seeded, or priced in the price book.
  const configuredModels = new Set([...Object.values(config.aliases), ...Object.keys(config.pricing)].map((m) => providers.canonicalName(m)))
  const metrics = new GatewayMetrics(
    () => store.openReservations(),
    () => ledger?.openHolds ?? 0,
    (model) => configuredModels.has(model) || prices.cachedPriceOf(model) !== null,
    () => store.ping().then(() => false, (error) => error instanceof DatabaseReadOnly),
  )
  const logger = createLogger(config.log_level)
  const observers = settlementObservers(metrics, logger)
  ledger = new Ledger(store.ledger, config.reservation_ttl_sec * 1000, observers.settled, observers.sweptFirst)
  metrics.watchStoreQueues(() => store.droppedWhileUnwritable())
  const upstream = new UpstreamSlots(config.max_upstream_concurrency, () => metrics.upstreamBusy.inc())
  const freeCalls = new FreeCallSlots(options.freeCalls ?? FREE_CALLS, () => metrics.freeCallsBusy.inc())
  metrics.watchUpstream(upstream, freeCalls)
  const alerts = new Alerts(store.alerts, config.alerts, freeCalls, (message) => console.warn(`[tollgate] ${message}`))
  metrics.watchAlerts(() => store.records.run('alertDeliveryCounts', undefined))
  const requestLog = new RequestLog(store, config.audit_retention_days)
  const keys = new KeyStore(store, config.cache_ttl_ms)
  return {
    config,
    store,
    keys,
    prices,
    ...replicaSharing(config, keys, prices, metrics, logger),
    ledger,
    providers,
    requestLog,
    upstream,
    freeCalls,
    inHandling: { count: 0 },
    records: store.records,
    refusals: new RefusalRecord(store.refusals, config.audit_retention_days),
    storedRetention: new StoredResponseRetention(store, config.responses_retention_days),
    sessions: new SessionStore(store.sessions, config.master_key, {
      idleMs: config.console_session_idle_min * 60_000,
      maxMs: config.console_session_max_hours * 3_600_000,
    }),
    metrics,
    logger,
    alerts,
  }
}

/**
 * What replicas share through Redis when it is configured: rate limits, and news of key and price changes.
 * Without it, each process limits on its own and sees other processes' changes within the cache TTL.
 */
function replicaSharing(config: Config, keys: KeyStore, prices: PriceBook, metrics: GatewayMetrics, logger: Services['logger']) {
  if (!config.redis_url) return { redis: null, changes: null, rateLimits: { ip: new GcraLimiter(), key: new GcraLimiter(), signIn: new GcraLimiter() } }
  const redis = new RedisLink(config.redis_url, logger, RATE_LIMIT_PROBE)
  const rateLimits = {
    ip: new SharedRateLimiter(redis, 'ip', config.redis_failure),
    key: new SharedRateLimiter(redis, 'key', config.redis_failure),
    signIn: new SharedRateLimiter(redis, 'sign-in', config.redis_failure),
  }
  const changes = new ChangeFeed(redis, keys, prices, logger)
  keys.onChange = prices.onChange = (change) => changes.publish(change)
  metrics.watchRedis(redis, rateLimits, changes)
  return { redis, changes, rateLimits }
}

/**
 * The gateway. Edge plugins run in the order they are used, for every request: id and client address,
 * then the headers every answer carries (security, CORS), so that a refusal has them too; then the per-IP
 * rate limit, which counts every request before anything can refuse it; a usable Host and target (no NUL); body size; a CORS
 * preflight let through to its route (or refused); authentication; per-key rate limit. Then the route;
 * then the request log, which sees every request; errors from anywhere leave through one handler. A route
 * that switched the connection's idle timeout off has it back with its response (or at its stream's end).
 */
export function createApp(services: Services, options: { idleTimeoutSec?: number } = {}) {
  const { config } = services
  const routes = new RoutePatterns()
  // The router reads the path after the first '/' past "http://": its default skips 11 characters, as if
  // every host were at least "a.bc", and misroutes a request whose Host is shorter (`a`, `a:1`).
  const app = new Elysia({ name: 'tollgate', handler: { standardHostname: false } })
    .use(errors(services))
    // An after-response hook reaches only the routes registered after it: first, so that none escapes it. The
    // request context's before the request log's, which would skip it if it threw: a request left counted in
    // handling would hold every stop for its whole grace.
    .use(requestContext({ trustProxy: config.trust_proxy, idleTimeoutSec: options.idleTimeoutSec ?? IDLE_TIMEOUT_SEC, handling: services.inHandling }))
    .use(requestLogger(services, routes))
    // Like the request log, a map-response hook reaches only the routes registered after it.
    .use(idleTimeoutRestore())
    .use(securityHeaders({ enabled: !config.disable_security_headers, trustProxy: config.trust_proxy }))
    .use(corsHeaders(config.cors_allowed_origins))
    .use(ipRateLimit(config.rate_limit_per_min, services.rateLimits.ip))
    .use(requireUsableTarget())
    .use(bodyLimit(config.max_body_bytes, config.body_read_budget_bytes, (limit) => services.metrics.bodyReadBusy.inc({ limit })))
    .use(corsPreflight(config.cors_allowed_origins))
    .use(auth({ masterKey: config.master_key, keys: services.keys, sessions: services.sessions, trustProxy: config.trust_proxy }))
    .use(keyRateLimit(services.rateLimits.key))
    .use(healthRoutes(services))
    .use(metricsRoutes(services))
    .use(docsRoutes())
    .use(chatRoutes(services))
    .use(embeddingsRoutes(services))
    .use(moderationsRoutes(services))
    .use(audioRoutes(services))
    .use(modelsRoutes(services))
    .use(messagesRoutes(services))
    .use(responsesRoutes(services))
    .use(countTokensRoutes(services))
    .use(keySelfRoutes(services))
    .use(sessionRoutes(services, services.sessions))
    .use(consoleRoutes())
    .use(adminRoutes(services))
  routes.learn(app.routes)
  return app
}
