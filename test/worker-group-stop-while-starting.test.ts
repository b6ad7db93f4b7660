/**
 * A TOLLGATE_WORKERS group stopped while it starts. A worker serves from the moment it listens (SO_REUSEPORT
 * hands it connections), but says so only after `gateway.ready`, which waits up to 1 s on a Redis that does not
 * answer (src/cli/serve.ts). The primary must handle a stop in that window: in a container it is PID 1
 * (Dockerfile: CMD ["bun", "src/index.ts"]), and the kernel drops a signal PID 1 has no handler for, so the
 * SIGTERM of `docker stop` would do nothing, the runtime's SIGKILL would follow, and PID 1's death would kill
 * every worker outright, the stream a worker serves leaving its hold for the sweeper to charge in full.
 *
 * The container is reproduced with a PID namespace (`unshare --pid`, as the runtime makes one): the primary is
 * its PID 1, signalled from outside it as `docker stop` does, and killed 6 s later as the runtime does (10 s).
 */
import { afterEach, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, capturedOutput, MASTER_KEY, ROOT } from './support/gateway'
import { silentRedisStart, streamUnderWay } from './support/silent-redis-start'
import { waitFor } from './support/wait-for'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

test('a container stop (SIGTERM to the primary as PID 1) while a worker serves but the group still starts settles the stream in flight, no hold left', async () => {
  const { redisUrl, dir, dbPath, configFile: file, secret, port, url } = await silentRedisStart(cleanup)
  // A PID namespace of its own, as a container runtime gives the image's CMD: the primary is its PID 1.
  const userns = process.getuid?.() === 0 ? [] : ['--user', '--map-root-user']
  const ns = Bun.spawn(['unshare', ...userns, '--pid', '--fork', BUN, join(ROOT, 'src', 'index.ts')], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      TOLLGATE_CONFIG: file,
      TOLLGATE_MASTER_KEY: MASTER_KEY,
      TOLLGATE_HOST: '127.0.0.1',
      TOLLGATE_PORT: String(port),
      TOLLGATE_DB: dbPath,
      TOLLGATE_WORKERS: '2',
      TOLLGATE_REDIS_URL: redisUrl,
      TOLLGATE_SHUTDOWN_GRACE_MS: '1000',
    },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const output = capturedOutput(ns)
  let primary = 0
  expect(await waitFor(10_000, () => (primary = Number(readFileSync(`/proc/${ns.pid}/task/${ns.pid}/children`, 'utf8').trim().split(/\s+/)[0] || 0)) > 0)).toBe(true)
  cleanup.push(async () => {
    try {
      process.kill(primary, 'SIGKILL')
    } catch {}
    await ns.exited
  })

  // A worker serves (it answers /health) while the group has not said it listens.
  const deadline = Date.now() + 20_000
  while ((await fetch(`${url}/health`).then((r) => r.status, () => 0)) !== 200) {
    if (Date.now() > deadline || ns.exitCode !== null) throw new Error(`no worker served:\n${output()}`)
    await Bun.sleep(5)
  }
  await streamUnderWay(url, secret)
  const groupSaidListening = /workers sharing the port/.test(output())

  // `docker stop`: SIGTERM to PID 1 from outside its namespace, SIGKILL when it has not ended in time.
  process.kill(primary, 'SIGTERM')
  const endedInTime = await waitFor(6_000, () => ns.exitCode !== null)
  if (!endedInTime) process.kill(primary, 'SIGKILL')
  await ns.exited

  const db = new Database(dbPath, { readonly: true })
  cleanup.push(() => db.close())
  const openHolds = db.query('SELECT amount FROM reservations').all().map((r: any) => r.amount)
  const settled = db.query('SELECT status FROM usage').all().length
  expect({ groupSaidListeningBeforeStop: groupSaidListening, endedInTime, openHolds, settled }).toEqual({
    groupSaidListeningBeforeStop: false, // the window this test is about
    endedInTime: true,
    openHolds: [],
    settled: 1,
  })
}, 60_000)
