import { startSweeper, logSweep } from './budget/sweeper'
import type { Config } from './config/schema'
import { createApp, createServices } from './app'
import { SERVER_BODY_LIMIT } from './plugins/body-limit'

export interface RunningGateway {
  url: string
  port: number
  /** Settles once the first connection to Redis is made or has failed (at once without Redis). */
  ready: Promise<void>
  stop(drainMs?: number): Promise<void>
}

/** Builds and starts a gateway; `stop` drains the write queue so that no settlement is lost on a clean stop. */
export interface ServerOptions {
  /** Seconds a silent connection is kept (Bun's idle timeout). Proxy routes switch it off per request. */
  idleTimeoutSec?: number
  /** One of a TOLLGATE_WORKERS group: share the port with the group's other processes (SO_REUSEPORT). */
  sharePort?: boolean
}

export function startGateway(config: Config, options: ServerOptions = {}): RunningGateway {
  const services = createServices(config)
  const sweeper = startSweeper(services.ledger, undefined, (n) => {
    logSweep(n)
    services.alerts.holdsExpired(n)
  })
  services.alerts.start()
  const ready = services.changes?.start() ?? Promise.resolve()
  const app = createApp(services).listen({
    ...(options.sharePort ? { reusePort: true } : {}),
    hostname: config.host,
    port: config.port,
    maxRequestBodySize: SERVER_BODY_LIMIT,
    idleTimeout: options.idleTimeoutSec ?? 30,
  })
  const server = app.server!
  const host = server.hostname?.includes(':') ? `[${server.hostname}]` : server.hostname
  return {
    url: `http://${host}:${server.port}`,
    port: server.port!,
    ready,
    /**
     * Stops taking requests, lets the ones in flight finish and settle (up to `drainMs`), then writes
     * everything queued. A hold still open after that stays in the database for the sweeper.
     */
    async stop(drainMs = 10_000) {
      sweeper.stop()
      await services.alerts.stop()
      services.requestLog.stop()
      const stopped = app.stop()
      const open = await services.ledger.drain(drainMs)
      if (open > 0) console.warn(`[tollgate] stopping with ${open} hold(s) open; the sweeper will settle them`)
      // Every hold is settled (or left to the sweeper); what still holds a connection open is idle or a
      // body nobody will read, which would keep a graceful stop waiting for Bun's idle timeout.
      await Promise.race([stopped, Bun.sleep(1_000)])
      await server.stop(true)
      // Elysia runs after-response hooks (the request log) in setImmediate: let those already queued run.
      await new Promise((resolve) => setImmediate(resolve))
      services.redis?.stop()
      services.writes.close()
      services.db.$client.close()
    },
  }
}
