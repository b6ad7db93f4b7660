/**
 * Where a request's time goes on the Postgres store: one gateway on its own Postgres 15, wrk at a given
 * concurrency, and from Postgres over the run: transactions and WAL flushes per request
 * (pg_stat_database, pg_stat_wal), the statements by total time (pg_stat_statements) and what the
 * gateway's connections were waiting on (pg_stat_activity sampled every few milliseconds).
 *
 *   bench/setup.sh && bun bench/pg-profile.ts [connections] [seconds] [--cpu-prof] [--processes N]
 *
 * --cpu-prof runs the gateway under `bun --cpu-prof` and ends with bench/profile-summary.ts's summary of it.
 * --processes N starts N gateways on the one database (replicas: one user's requests spread over them, as
 * bench/stores.ts's three processes), each given its share of the connections by a wrk of its own; the CPU figures
 * are all of them together, the profile summary the first one's.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPostgres } from '../test/engines/support/postgres'
import { startedLoggingTo, started } from './children'
import { cpuMs, median, wrk } from './wrk'

const cpuProf = process.argv.includes('--cpu-prof')
if (cpuProf) process.argv.splice(process.argv.indexOf('--cpu-prof'), 1)
const processesAt = process.argv.indexOf('--processes')
const processes = processesAt < 0 ? 1 : Number(process.argv.splice(processesAt, 2)[1])
const connections = Number(process.argv[2] ?? 1)
const seconds = Number(process.argv[3] ?? 5)
const ROOT = join(import.meta.dir, '..')
const BUN = process.execPath
const MASTER = `bench-master-${crypto.randomUUID()}`
const dir = mkdtempSync(join(tmpdir(), 'tollgate-pg-profile-'))
const children: Array<{ kill(signal?: number | NodeJS.Signals): void }> = []
process.on('exit', () => children.forEach((c) => c.kill('SIGTERM')))

const pg = await startPostgres()
const admin = new Bun.SQL(pg.url, { max: 1 })
await admin`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`
await admin`ALTER SYSTEM SET track_wal_io_timing = on`
await admin.close()
await pg.stop()
await pg.start()
const url = await pg.database('profile')
const db = new Bun.SQL(url, { max: 1 })
await db`CREATE EXTENSION pg_stat_statements`
// The statements a trigger runs are counted apart from the statement that fired it (and inside its time too).
await db`ALTER SYSTEM SET pg_stat_statements.track = 'all'`
await db`SELECT pg_reload_conf()`

const mock = Bun.spawn([BUN, join(ROOT, 'test/support/mock-provider.ts'), '--port', '0'], { stdout: 'pipe', stderr: 'inherit' })
children.push(mock)
const mockUrl = await started(mock, /listening on (http:\/\/\S+)/)
const configFile = join(dir, 'bench.yaml')
writeFileSync(configFile, JSON.stringify({
  providers: { mock: { type: 'openai', base_url: `${mockUrl}/v1`, api_key: 'sk-bench-upstream' } },
  pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } },
}))
const spawnGateway = async (i: number) => {
  const log = join(dir, `gateway-${i}.log`)
  const profiles = join(dir, `profiles-${i}`)
  const gw = Bun.spawn([BUN, ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : []), join(ROOT, 'src/index.ts')], {
    env: {
      PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: MASTER, TOLLGATE_PORT: '0', TOLLGATE_DATABASE_URL: url, TOLLGATE_CONFIG: configFile,
      TOLLGATE_RATE_LIMIT_PER_MIN: '60000000', BUN_CONFIG_MAX_HTTP_REQUESTS: '4096',
    },
    stdout: Bun.file(log), stderr: 'inherit',
  })
  children.push(gw)
  return { gw, url: await startedLoggingTo(gw, log, /listening on (http:\/\/\S+)/), profiles }
}
const gateways: Array<Awaited<ReturnType<typeof spawnGateway>>> = []
// One at a time: each applies the migrations, or finds them applied.
for (let i = 0; i < processes; i++) gateways.push(await spawnGateway(i))
const gateway = gateways[0]!.url
const post = async (path: string, b: unknown) =>
  (await (await fetch(gateway + path, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify(b) })).json()) as { key?: string }
await post('/v1/users', { id: 'bench', max_budget: 1_000_000 })
const key = (await post('/v1/keys', { user_id: 'bench' })).key!
const body = JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'Hi.' }], max_tokens: 64 })
const targets = gateways.map((g) => ({ url: `${g.url}/v1/chat/completions`, key, body }))
const each = Math.max(1, Math.round(connections / processes))
const load = async (seconds: number) => {
  const results = await Promise.all(targets.map((t) => wrk(t, each, seconds)))
  const requests = results.reduce((n, r) => n + r.requests, 0)
  return { requests, rps: results.reduce((n, r) => n + r.rps, 0), p50: median(results.map((r) => r.p50)), p99: Math.max(...results.map((r) => r.p99)), errors: results.reduce((n, r) => n + r.errors, 0) }
}
const gatewayCpuMs = () => gateways.reduce((ms, g) => ms + cpuMs(g.gw.pid), 0)
await load(2) // warm-up

const counters = async () => {
  const [d] = await db`SELECT xact_commit::bigint AS commits FROM pg_stat_database WHERE datname = current_database()`
  const [w] = await db`SELECT wal_records, wal_write, wal_sync, wal_sync_time FROM pg_stat_wal`
  return { commits: Number(d.commits), records: Number(w.wal_records), writes: Number(w.wal_write), syncs: Number(w.wal_sync), syncMs: Number(w.wal_sync_time) }
}
// The server's own processes: the postmaster (its pid heads postmaster.pid) and its children, the backends among them.
const dataDir = (await db`SHOW data_directory`)[0].data_directory as string
const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
const postgresCpuMs = () => {
  let total = cpuMs(postmaster)
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]) === postmaster) total += cpuMs(Number(pid))
    } catch {} // gone meanwhile
  }
  return total
}
await db`SELECT pg_stat_statements_reset()`
const before = await counters()
const cpuBefore = { gateway: gatewayCpuMs(), postgres: postgresCpuMs() }
const waits = new Map<string, number>()
let sampling = true
const sampler = (async () => {
  while (sampling) {
    // Idle in a transaction: named by the statement it last ran, the one the transaction waits after.
    for (const r of await db`SELECT state, coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait,
                                    CASE WHEN state LIKE 'idle in%' THEN ' after ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 40) ELSE '' END AS after
                               FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`)
      waits.set(`${r.state} ${r.wait}${r.after}`, (waits.get(`${r.state} ${r.wait}${r.after}`) ?? 0) + 1)
    await Bun.sleep(2)
  }
})()
const result = await load(seconds)
sampling = false
const cpu = { gateway: (gatewayCpuMs() - cpuBefore.gateway) / result.requests, postgres: (postgresCpuMs() - cpuBefore.postgres) / result.requests }
await sampler
const after = await counters()
const per = (k: keyof typeof before) => ((after[k] - before[k]) / result.requests).toFixed(2)
const statements = await db`
  SELECT calls, round(total_exec_time::numeric, 1) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT 16`
const samples = [...waits.values()].reduce((a, b) => a + b, 0)

console.log(`
Postgres profile — ${new Date().toISOString()}, ${processes} gateway process(es), concurrency ${each * processes}, ${seconds}s, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}
${result.requests} requests, ${result.rps.toFixed(0)} req/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, ${result.errors} errors
CPU per request: gateway ${cpu.gateway.toFixed(3)} ms (all its processes), Postgres ${cpu.postgres.toFixed(3)} ms (all its processes, the sampler's queries included)
per request: ${per('commits')} commits, ${per('syncs')} WAL flushes (${((after.syncMs - before.syncMs) / Math.max(1, after.syncs - before.syncs)).toFixed(2)} ms each), ${per('writes')} WAL writes, ${per('records')} WAL records

statements by total time:
${statements.map((s: Record<string, unknown>) => `  ${String(s.calls).padStart(7)} calls ${String(s.total_ms).padStart(9)} ms total ${String(s.mean_ms).padStart(8)} ms mean  ${s.query}`).join('\n')}

the gateway's non-idle connections, ${samples} samples (state, wait event; CPU = none):
${[...waits].sort((a, b) => b[1] - a[1]).map(([k, n]) => `  ${((100 * n) / samples).toFixed(1).padStart(5)}%  ${k}`).join('\n')}
`)
for (const g of gateways) g.gw.kill('SIGTERM')
mock.kill('SIGTERM')
for (const g of gateways) await g.gw.exited
if (cpuProf) {
  const first = gateways[0]!.profiles
  const profile = readdirSync(first).find((f) => f.endsWith('.cpuprofile'))
  if (profile) Bun.spawnSync([BUN, join(import.meta.dir, 'profile-summary.ts'), join(first, profile)], { stdout: 'inherit', stderr: 'inherit' })
}
await db.close()
await pg.destroy()
rmSync(dir, { recursive: true, force: true })
