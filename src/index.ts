import { ConfigError, loadConfig } from './config/load'
import { startGateway } from './server'

let config
try {
  config = loadConfig()
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  console.error(`[tollgate] refusing to start: ${error.message}`)
  process.exit(1)
}

const gateway = startGateway(config)
console.log(`[tollgate] listening on ${gateway.url}`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    await gateway.stop()
    process.exit(0)
  })
}
