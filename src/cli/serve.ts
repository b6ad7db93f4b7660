import { ConfigError, loadConfig } from '../config/load'
import { SchemaNewerError } from '../db/newer-schema'
import { DatabaseFileError } from '../db/open-error'
import { effectiveUpstreamLimit } from '../providers/upstream-slots'
import { DatabaseOpenError } from '../store/postgres/open-error'
import { lockPort, PortLockedError, type PortLock } from '../workers/port-lock'
import type { WorkerReady } from '../workers/group'
import { PortInUseError } from '../workers/port-in-use'
import { isWorker } from '../workers/worker-env'

const refuse = (message: string): never => {
  console.error(`[tollgate] refusing to start: ${message}`)
  process.exit(1)
}

const config = (() => {
  try {
    return loadConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return refuse(error.message)
  }
})()

// A worker runs by its group's two values (workers/group-settings.ts): its primary has warned of them.
if (config.reservation_ttl_sec * 1000 <= config.upstream_timeout_ms && !isWorker())
  console.warn(
    '[tollgate] TOLLGATE_RESERVATION_TTL_SEC is not above TOLLGATE_UPSTREAM_TIMEOUT_MS: the sweeper may settle ' +
      'holds of long requests at their full amount while they are still running',
  )

if (config.workers > 1 && !isWorker()) {
  const { runWorkerGroup, WorkerGroupError } = await import('../workers/group')
  try {
    process.exit(await runWorkerGroup(config))
  } catch (error) {
    if (error instanceof DatabaseFileError) refuse(`TOLLGATE_DB: ${error.message}`)
    if (!(error instanceof PortLockedError || error instanceof PortInUseError || error instanceof WorkerGroupError || error instanceof SchemaNewerError)) throw error
    refuse(error.message)
  }
}

// A worker's port is guarded by its group's primary; a gateway of its own takes the port's lock itself.
let lock: PortLock | null = null
if (!isWorker() && config.port !== 0) {
  try {
    lock = lockPort(config.port)
  } catch (error) {
    if (!(error instanceof PortLockedError)) throw error
    refuse(error.message)
  }
}

// Bun's fetch cap is fixed when the process starts: the limits must fit under it together (see effectiveUpstreamLimit).
const fetchLimits = effectiveUpstreamLimit(config.max_upstream_concurrency)
if (fetchLimits.warning) console.warn(`[tollgate] ${fetchLimits.warning}`)
config.max_upstream_concurrency = fetchLimits.limit

// Loaded once the configuration is valid: a refused start does not load the whole gateway first.
const { startGateway } = await import('../server')
const gateway = await (async () => {
  try {
    return await startGateway(config, { sharePort: isWorker(), freeCalls: fetchLimits.freeCalls })
  } catch (error) {
    if (error instanceof DatabaseOpenError) return refuse(`TOLLGATE_DATABASE_URL: ${error.message}`)
    if (error instanceof DatabaseFileError) return refuse(`TOLLGATE_DB: ${error.message}`)
    if (!(error instanceof PortInUseError || error instanceof SchemaNewerError)) throw error
    return refuse(error.message)
  }
})()
// The handlers go in before `ready` is awaited: the gateway serves from the moment it listens, and `ready`
// may wait a second on a Redis that does not answer; a signal then would end the process outright, the
// holds of the requests it serves left for the sweeper to charge in full.
let stopping = false
const stop = async () => {
  // A second signal (Ctrl-C under npm arrives twice) finds the stop under way: the first one exits.
  if (stopping) return
  stopping = true
  await gateway.stop()
  lock?.release()
  process.exit(0)
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, stop)
if (isWorker())
  // The primary holds our stdin open for as long as it lives: its end, even by kill -9, ends the worker.
  void (async () => {
    for await (const _ of Bun.stdin.stream());
    await stop()
  })()

await gateway.ready
// Stopped while `ready` waited: it does not say it serves (a worker's primary would count it as serving).
if (!stopping) {
  if (isWorker()) {
    // Said before the primary hears it, so that its own "listening" line comes after the workers' lines.
    console.log(`[tollgate] worker ${process.pid} serving ${gateway.url}`)
    process.send?.({ listening: gateway.url } satisfies WorkerReady)
  } else console.log(`[tollgate] listening on ${gateway.url}`)
}
