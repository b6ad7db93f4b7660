import { startSweeper, logSweep } from './budget/sweeper'
import type { Config } from './config/schema'
import { checkpointOffThread } from './db/checkpointer'
import { SqliteStore } from './store/sqlite/store'
import { createApp, createServices } from './app'
import { ALERTS_STOP_MS, CLOSING_MS } from './gateway-stop'
import { errorResponse, internalError } from './http/errors'
import { IDLE_TIMEOUT_SEC } from './http/idle-timeout'
import { SERVER_BODY_LIMIT } from './plugins/body-limit'
import { API_SECURITY_HEADERS } from './plugins/security-headers'
import type { Services } from './services'
import { PortInUseError } from './workers/port-in-use'

export interface RunningGateway {
  url: string
  port: number
  /** Settles once the first connection to Redis is made or has failed (at once without Redis). */
  ready: Promise<void>
  /**
   * Stops within `graceMs` (TOLLGATE_SHUTDOWN_GRACE_MS unless given) and about a second more, unless the
   * database keeps its last writes waiting: at most gatewayStopBoundMs (src/gateway-stop.ts) in all. A call
   * after the first gets the first one's stop (its grace), never a second one.
   */
  stop(graceMs?: number): Promise<void>
}

/** Builds and starts a gateway; `stop` drains the write queue so that no settlement is lost on a clean stop. */
interface ServerOptions {
  /** Seconds a silent connection is kept (Bun's idle timeout). Inference routes switch it off while they work (src/http/idle-timeout.ts). */
  idleTimeoutSec?: number
  /** One of a TOLLGATE_WORKERS group: share the port with the group's other processes (SO_REUSEPORT). */
  sharePort?: boolean
  /** The most free calls at once: what Bun's fetch cap leaves them (`effectiveUpstreamLimit`); `FREE_CALLS` unless given. */
  freeCalls?: number
}

/**
 * Every option the listening socket gets, in one place. The framework's Bun adapter sets `reusePort`,
 * with which a second gateway on the same port starts silently and the kernel splits the traffic between
 * two gateways with different keys and databases: a gateway never shares its port, but with the other
 * workers of its own TOLLGATE_WORKERS group (whose primary holds the port's lock). It also sets Bun's
 * development mode outside NODE_ENV=production, whose page for an error that escapes the app shows the
 * stack and the working directory: such an error gets our 500 instead, with the security headers.
 */
export function listenOptions(config: Config, options: ServerOptions, logger: Services['logger']) {
  return {
    hostname: config.host,
    port: config.port,
    // Only the workers of one TOLLGATE_WORKERS group share a port, on purpose (src/workers).
    reusePort: options.sharePort === true,
    development: false,
    maxRequestBodySize: SERVER_BODY_LIMIT,
    idleTimeout: options.idleTimeoutSec ?? IDLE_TIMEOUT_SEC,
    error(error: Error) {
      logger.log('error', 'unhandled error past the app', { error: error.stack ?? error.message })
      return errorResponse(internalError(), 'openai', config.disable_security_headers ? {} : API_SECURITY_HEADERS)
    },
  }
}

export async function startGateway(config: Config, options: ServerOptions = {}): Promise<RunningGateway> {
  const services = await createServices(config, { freeCalls: options.freeCalls })
  let app: ReturnType<typeof createApp>
  try {
    app = createApp(services, { idleTimeoutSec: options.idleTimeoutSec }).listen(listenOptions(config, options, services.logger))
  } catch (error) {
    services.redis?.stop()
    await services.store.close()
    if ((error as { code?: unknown })?.code === 'EADDRINUSE') throw new PortInUseError(config.host, config.port)
    throw error
  }
  // No hold expires sooner than its TTL, so a short TTL is swept as often (a replica that died leaves its holds to the others).
  const sweeper = startSweeper(services.ledger, Math.min(60_000, config.reservation_ttl_sec * 1000), (n) => {
    logSweep(n)
    void services.alerts.holdsExpired(n)
  })
  services.alerts.start()
  const store = services.store
  const checkpoints =
    store instanceof SqliteStore
      ? checkpointOffThread(store.db.$client, config.db, { logger: services.logger, file: { opened: store.fileOpened, replaced: () => store.replacedUnder() } })
      : null
  if (checkpoints) services.metrics.watchCheckpointer(checkpoints)
  const ready = services.changes?.start() ?? Promise.resolve()
  const server = app.server!
  const host = server.hostname?.includes(':') ? `[${server.hostname}]` : server.hostname
  /**
   * Stops taking requests, lets the ones in flight finish and settle (up to `graceMs`), cuts what is
   * still running, then writes everything queued. A hold still open after that stays in the database for
   * the sweeper. All of it must end before the container runtime's SIGKILL (10 s after SIGTERM by default).
   */
  const stopGateway = async (graceMs: number) => {
    // The listener first: from here no new request is taken, so none can reach a provider.
    const stopped = app.stop()
    sweeper.stop()
    for (const limiter of Object.values(services.rateLimits)) limiter.stop()
    // Alongside the drain: a webhook that hangs holds up neither the drain nor the stop.
    const alertsStopped = services.alerts.stop(ALERTS_STOP_MS)
    services.requestLog.stop()
    services.refusals.stop()
    services.storedRetention.stop()
    // The grace lasts while anything is under way: a request being handled (its body still arriving, its key or
    // price still looked up: no hold yet; it is served), an answer still written (Bun counts a request pending
    // until its response's last byte is out, which a slow client's large JSON answer takes seconds for, well
    // after its handover), a hold open, or a provider call running (a speech call's audio, relayed after its
    // hold is settled, keeps its upstream slot till it ends). Not the listener's graceful stop: a connection
    // whose body nobody will read (a refusal's, answered at once; not pending for Bun) would hold it for the
    // whole grace.
    const graceEnds = performance.now() + graceMs
    const underWay = () =>
      services.inHandling.count > 0 || server.pendingRequests > 0 || services.ledger.openHolds > 0 || services.upstream.inFlight > 0
    while (underWay() && performance.now() < graceEnds) await Bun.sleep(10)
    // The grace is over: the provider calls still running are cut, each settled as at the gateway's own
    // timeout (a stream what it generated, a JSON call its whole hold) and answered (an error event, a 503);
    // a request still on its way to one (its body slow to arrive) is refused before the provider is called.
    services.ledger.cutCalls()
    const closing = performance.now() + CLOSING_MS
    const open = await services.ledger.drain(CLOSING_MS)
    if (open > 0) console.warn(`[tollgate] stopping with ${open} hold(s) open; the sweeper will settle them`)
    // Every hold settled: what still holds a connection open is an answer being written, an idle one, or a
    // body nobody will read, which would keep a graceful stop waiting for Bun's idle timeout.
    await Promise.race([stopped, Bun.sleep(Math.max(0, closing - performance.now()))])
    await server.stop(true)
    // Elysia runs after-response hooks (the request log) in setImmediate: let those already queued run.
    await new Promise((resolve) => setImmediate(resolve))
    await alertsStopped
    await services.records.stop()
    await checkpoints?.stop()
    services.redis?.stop()
    await services.store.close()
  }
  // Ctrl-C reaches a process twice when npm runs it (the terminal's SIGINT and the one npm passes on), and the
  // listener and the store close once only: a second stop waits for the first.
  let stopping: Promise<void> | undefined
  return {
    url: `http://${host}:${server.port}`,
    port: server.port!,
    ready,
    stop: (graceMs = config.shutdown_grace_ms) => (stopping ??= stopGateway(graceMs)),
  }
}
