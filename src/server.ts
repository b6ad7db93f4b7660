import { startSweeper } from './budget/sweeper'
import type { Config } from './config/schema'
import { createApp, createServices } from './app'

export interface RunningGateway {
  url: string
  port: number
  stop(): Promise<void>
}

/** Builds and starts a gateway; `stop` drains the write queue so that no settlement is lost on a clean stop. */
export function startGateway(config: Config): RunningGateway {
  const services = createServices(config)
  const sweeper = startSweeper(services.ledger)
  const app = createApp(services).listen({
    hostname: config.host,
    port: config.port,
    // Bun answers a body past this with its own bare 413; the body-limit plugin answers declared ones first.
    maxRequestBodySize: config.max_body_bytes,
  })
  const server = app.server!
  const host = server.hostname?.includes(':') ? `[${server.hostname}]` : server.hostname
  return {
    url: `http://${host}:${server.port}`,
    port: server.port!,
    async stop() {
      sweeper.stop()
      services.requestLog.stop()
      await app.stop()
      services.writes.flush()
      services.db.$client.close()
    },
  }
}
