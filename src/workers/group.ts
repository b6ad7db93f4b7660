import type { Subprocess } from 'bun'
import { join } from 'node:path'
import type { Config } from '../config/schema'
import { openDatabase } from '../db/open'
import { gatewayStopBoundMs } from '../gateway-stop'
import { RUNTIME_ENV } from '../runtime-env'
import { groupSettingsEnv } from './group-settings'
import { ensurePortFree } from './port-in-use'
import { lockPort } from './port-lock'
import { WORKER_ENV } from './worker-env'

const ENTRY = join(import.meta.dir, '..', 'index.ts')
/** A worker that ends sooner than this after its start is crashing: the next start waits longer. */
const STEADY_MS = 10_000
const MAX_RESTART_DELAY_MS = 30_000

/** What a worker tells the primary once it serves. */
export interface WorkerReady {
  listening: string
}

export class WorkerGroupError extends Error {
  override name = 'WorkerGroupError'
}

/**
 * `TOLLGATE_WORKERS=N`: this process (the primary) takes the port's lock, makes sure no other program listens
 * there (PortInUseError, as for a single gateway), applies the migrations once, then starts N gateway processes
 * that listen on the same port with SO_REUSEPORT, so that the kernel spreads incoming connections among them.
 * Budgets are exact across them: every hold is taken in the shared database. The primary serves nothing
 * itself; it restarts a worker that dies and, on SIGTERM or SIGINT, stops them all (each drains its requests;
 * one still running well past its grace is killed). A worker whose primary dies, even by kill -9, sees its
 * stdin close and stops too: the lock is gone, so no orphan may keep serving the port unguarded.
 * Resolves with the exit code once the group has stopped.
 */
export async function runWorkerGroup(config: Config, log: (line: string) => void = (l) => console.log(`[tollgate] ${l}`)): Promise<number> {
  if (process.platform !== 'linux') throw new WorkerGroupError('TOLLGATE_WORKERS above 1 needs Linux (SO_REUSEPORT spreading connections among processes)')
  const lock = lockPort(config.port)!
  try {
    ensurePortFree(config.host, config.port)
    // The group's SQLite file, migrated once here; on Postgres each worker migrates under its advisory lock.
    if (!config.database_url) openDatabase(config.db).$client.close()
  } catch (error) {
    lock.release()
    throw error
  }
  const groupSettings = groupSettingsEnv(config)
  if (!config.redis_url)
    log(
      `${config.workers} workers without TOLLGATE_REDIS_URL: each counts rate limits alone (per IP${config.rate_limit_per_min ? ` at ${config.rate_limit_per_min}/min` : ''} and ` +
        `per key), so a client may get up to ${config.workers}x a limit, and a key revoked through one worker is refused by the others within ` +
        `cache_ttl_ms (${config.cache_ttl_ms} ms). Budgets are exact either way (one database).`,
    )

  let stopping = false
  const workers = new Set<Subprocess>()
  /** Starts worker `slot`; resolves with its address once it serves, rejects if it ends before that. */
  const start = (slot: number) =>
    new Promise<string>((resolve, reject) => {
      let served = false
      const startedAt = performance.now()
      const proc = Bun.spawn([process.execPath, ENTRY, 'serve'], {
        env: { ...RUNTIME_ENV, ...process.env, ...groupSettings, [WORKER_ENV]: String(process.pid) },
        stdin: 'pipe',
        stdout: 'inherit',
        stderr: 'inherit',
        ipc: (message: WorkerReady) => {
          served = true
          resolve(message.listening)
        },
        onExit: (_, code, signal) => {
          workers.delete(proc)
          const how = signal ?? `exit ${code}`
          if (!served) return reject(new WorkerGroupError(`worker ${slot} ended before serving (${how})`))
          if (stopping) return
          const steady = performance.now() - startedAt >= STEADY_MS
          log(`worker ${slot} (pid ${proc.pid}) ended (${how}); starting it again`)
          restart(slot, steady ? 0 : 1_000)
        },
      })
      workers.add(proc)
    })
  const restart = (slot: number, delay: number) =>
    setTimeout(() => {
      if (stopping) return
      start(slot).then(
        () => log(`worker ${slot} serves again`),
        (error: Error) => {
          log(`${error.message}; trying again`)
          restart(slot, Math.min(Math.max(delay * 2, 1_000), MAX_RESTART_DELAY_MS))
        },
      )
    }, delay)

  const stopAll = async () => {
    stopping = true
    const all = [...workers]
    for (const w of all) w.kill('SIGTERM')
    // A worker still running past its own stop's longest legitimate course is hung: it would otherwise keep the
    // primary, and the port's lock, forever. One killed sooner may be waiting out a lock to write its settlements.
    // Every worker's stop is bounded by the same settings, the group's (groupSettingsEnv), whatever the file says now.
    const deadlineMs = gatewayStopBoundMs(config)
    let timer: Timer | undefined
    await Promise.race([Promise.all(all.map((w) => w.exited)), new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs)))])
    clearTimeout(timer)
    const stragglers = all.filter((w) => w.exitCode === null && w.signalCode === null)
    if (stragglers.length > 0) {
      log(
        `worker(s) pid ${stragglers.map((w) => w.pid).join(', ')} still running ${deadlineMs} ms after SIGTERM (shutdown grace ` +
          `${config.shutdown_grace_ms} ms, then the longest a stop's final writes may take): killing them (SIGKILL); the sweeper ` +
          `settles the holds they leave open`,
      )
      for (const w of stragglers) w.kill('SIGKILL')
      await Promise.all(stragglers.map((w) => w.exited))
    }
    lock.release()
  }

  // The handlers go in before any worker starts: a worker serves from the moment it listens (the kernel hands
  // it connections), before it says so, and a signal then must stop the group gracefully too. As a container's
  // PID 1 the primary would otherwise ignore it, and be killed with its workers, their holds left to the sweeper.
  let signalled = (_code: number) => {}
  const stopped = new Promise<number>((resolve) => (signalled = resolve))
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, async () => {
      if (stopping) return
      await stopAll()
      signalled(0)
    })
  // Every worker must serve before the group says it listens; one that ends before that fails the start
  // (unless a signal ended it: then the group is stopping, as asked).
  let urls: string[]
  try {
    urls = await Promise.all(Array.from({ length: config.workers }, (_, i) => start(i + 1)))
  } catch (error) {
    if (stopping) return await stopped
    await stopAll()
    throw error
  }
  if (stopping) return await stopped
  // Said only once a signal stops the group: whoever reads this line may send one at once, before the code
  // after the line has run (a minimal Bun child that logged and then listened for SIGTERM was killed outright
  // by a SIGTERM sent on reading the line in 3 of 4 tries). Killed so, a primary leaves its workers serving
  // until their stdin closes.
  log(`listening on ${urls[0]} (${config.workers} workers sharing the port)`)
  return await stopped
}
