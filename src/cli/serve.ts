import { ConfigError, loadConfig } from '../config/load'
import { effectiveUpstreamLimit } from '../providers/upstream-slots'

let config
try {
  config = loadConfig()
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  console.error(`[tollgate] refusing to start: ${error.message}`)
  process.exit(1)
}

if (config.reservation_ttl_sec * 1000 <= config.upstream_timeout_ms)
  console.warn(
    '[tollgate] TOLLGATE_RESERVATION_TTL_SEC is not above TOLLGATE_UPSTREAM_TIMEOUT_MS: the sweeper may settle ' +
      'holds of long requests at their full amount while they are still running',
  )

// Bun's fetch cap is fixed when the process starts: the limit must fit under it (see effectiveUpstreamLimit).
const upstreamLimit = effectiveUpstreamLimit(config.max_upstream_concurrency)
if (upstreamLimit.warning) console.warn(`[tollgate] ${upstreamLimit.warning}`)
config.max_upstream_concurrency = upstreamLimit.limit

// Loaded once the configuration is valid: a refused start does not load the whole gateway first.
const { PortInUseError, startGateway } = await import('../server')
let gateway
try {
  gateway = startGateway(config)
} catch (error) {
  if (!(error instanceof PortInUseError)) throw error
  console.error(`[tollgate] refusing to start: ${error.message}`)
  process.exit(1)
}
console.log(`[tollgate] listening on ${gateway.url}`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    await gateway.stop()
    process.exit(0)
  })
}
