/**
 * The SQLite store beside the Postgres store (one process, and three processes on one database), in one
 * run on 127.0.0.1: chat JSON through the gateway with every governance feature on, at concurrency 1
 * and 64 (three processes: 3 wrk of 21 connections, one per process, their req/s summed), the mock
 * provider called directly alongside; then the ledger alone, in this process: reservation latency (one
 * hold at a time, committed) and reserve + settle pairs per second (64 at a time).
 *
 *   bench/setup.sh && bun bench/stores.ts [seconds per run] [repeats] [--against <checkout>] [--gateways-only]
 *
 * --against adds the Postgres store of another checkout of tollgate (its own src/, its own database on the
 * same Postgres), alternated with this one's in the same run: an A/B that the machine's load falls on alike.
 * --gateways-only leaves out the three-process setup and the ledger figures.
 *
 * Postgres is Debian's postgresql 15, started here as the engine tests start it (test/engines/support).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ledger, type HoldRequest } from '../src/budget/ledger'
import { RUNTIME_ENV } from '../src/runtime-env'
import { PostgresStore } from '../src/store/postgres/store'
import { SqliteStore } from '../src/store/sqlite/store'
import type { Store } from '../src/store/store'
import { startPostgres } from '../test/engines/support/postgres'
import { startedLoggingTo, started } from './children'
import { cpuMs, median, wrk, type Target, type WrkResult } from './wrk'

/** Takes `name` (and the value after it) out of the arguments: what is left is positional. */
const flag = (name: string, withValue: boolean): string | undefined => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : (process.argv.splice(i, withValue ? 2 : 1)[1] ?? '')
}
const against = flag('--against', true)
const gatewaysOnly = flag('--gateways-only', false) !== undefined
const seconds = Number(process.argv[2] ?? 5)
const repeats = Number(process.argv[3] ?? 3)
const ROOT = join(import.meta.dir, '..')
const BUN = process.execPath
const MASTER = `bench-master-${crypto.randomUUID()}`
const dir = mkdtempSync(join(tmpdir(), 'tollgate-stores-'))
const children: Array<{ kill(signal?: number | NodeJS.Signals): void }> = []
process.on('exit', () => children.forEach((c) => c.kill('SIGTERM')))

const loadAtStart = loadavg()[0]!.toFixed(1)
const pg = await startPostgres()
const mock = Bun.spawn([BUN, join(ROOT, 'test/support/mock-provider.ts'), '--port', '0'], { stdout: 'pipe', stderr: 'inherit' })
children.push(mock)
const mockUrl = await started(mock, /listening on (http:\/\/\S+)/)
const configFile = join(dir, 'bench.yaml')
writeFileSync(configFile, JSON.stringify({
  providers: { mock: { type: 'openai', base_url: `${mockUrl}/v1`, api_key: 'sk-bench-upstream' } },
  pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } },
}))

let n = 0
async function gateway(env: Record<string, string>, root = ROOT) {
  const log = join(dir, `gateway-${++n}.log`)
  const proc = Bun.spawn([BUN, join(root, 'src/index.ts')], {
    env: {
      PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: MASTER, TOLLGATE_PORT: '0', TOLLGATE_DB: join(dir, `bench-${n}.db`),
      // As npm start and the container image start it (src/runtime-env.ts).
      TOLLGATE_CONFIG: configFile, TOLLGATE_RATE_LIMIT_PER_MIN: '60000000', ...RUNTIME_ENV, ...env,
    },
    stdout: Bun.file(log), stderr: 'inherit',
  })
  children.push(proc)
  return { proc, url: await startedLoggingTo(proc, log, /listening on (http:\/\/\S+)/) }
}

const messages = [{ role: 'user', content: 'Write one short sentence about toll gates.' }]
const body = (model: string) => JSON.stringify({ model, messages, max_tokens: 64 })
const direct: Target = { url: `${mockUrl}/v1/chat/completions`, key: 'sk-bench-upstream', body: body('gpt-mock') }

/** A setup: its gateways, and a key billed to one budgeted user. */
async function setup(name: string, processes: number, env: Record<string, string>, root = ROOT) {
  const gateways = [await gateway(env, root)]
  for (let i = 1; i < processes; i++) gateways.push(await gateway(env, root))
  const post = async (path: string, b: unknown) =>
    (await (await fetch(gateways[0]!.url + path, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify(b) })).json()) as { key?: string }
  await post('/v1/users', { id: 'bench', max_budget: 1_000_000 })
  const key = (await post('/v1/keys', { user_id: 'bench' })).key!
  const targets = gateways.map((g): Target => ({ url: `${g.url}/v1/chat/completions`, key, body: body('mock:gpt-mock') }))
  return { name, gateways, targets, pids: gateways.map((g) => g.proc.pid) }
}

/**
 * wrk on every process at once (the connections shared out), req/s summed, latencies the median of the
 * processes'; and the gateway processes' own CPU time per request (what the store's client and statements
 * cost the gateway, apart from what they cost Postgres).
 */
async function load(s: { targets: Target[]; pids: number[] }, connections: number): Promise<WrkResult & { cpuUs: number }> {
  const each = Math.max(1, Math.round(connections / s.targets.length))
  const cpuBefore = s.pids.reduce((a, pid) => a + cpuMs(pid), 0)
  const results = await Promise.all(s.targets.map((t) => wrk(t, each, seconds)))
  const requests = results.reduce((a, r) => a + r.requests, 0)
  return {
    rps: results.reduce((a, r) => a + r.rps, 0), p50: median(results.map((r) => r.p50)), p99: median(results.map((r) => r.p99)),
    requests, errors: results.reduce((a, r) => a + r.errors, 0),
    cpuUs: ((s.pids.reduce((a, pid) => a + cpuMs(pid), 0) - cpuBefore) / Math.max(1, requests)) * 1000,
  }
}

/** A checkout's commit, marked when its files differ from it (two worktrees of one commit must not share a row). */
const commitOf = (root: string) => {
  const git = (...args: string[]) => Bun.spawnSync(['git', '-C', root, ...args]).stdout.toString().trim()
  const commit = git('rev-parse', '--short', 'HEAD')
  if (!commit) return root
  return git('status', '--porcelain', '--untracked-files=no') ? `${commit} + changes in ${root}` : commit
}
const setups = [
  await setup('SQLite, 1 process', 1, {}),
  await setup(`Postgres, 1 process${against ? ` (${commitOf(ROOT)})` : ''}`, 1, { TOLLGATE_DATABASE_URL: await pg.database('bench_one') }),
  ...(against ? [await setup(`Postgres, 1 process (${commitOf(against)})`, 1, { TOLLGATE_DATABASE_URL: await pg.database('bench_against') }, against)] : []),
  ...(gatewaysOnly ? [] : [await setup('Postgres, 3 processes', 3, { TOLLGATE_DATABASE_URL: await pg.database('bench_three') })]),
]
for (const s of setups) await load(s, 8) // warm-up
await wrk(direct, 8, seconds)

const rows: string[] = []
for (const connections of [1, 64]) {
  const directRuns: WrkResult[] = []
  const runs = new Map<string, Array<WrkResult & { cpuUs: number }>>(setups.map((s) => [s.name, []]))
  for (let r = 0; r < repeats; r++) {
    if (connections === 1) directRuns.push(await wrk(direct, 1, seconds))
    // Alternated, so that the machine's other load falls on every setup alike.
    for (const s of setups) {
      if (connections === 1 && s.targets.length > 1) continue
      runs.get(s.name)!.push(await load(s, connections))
    }
  }
  const d = directRuns.length ? median(directRuns.map((x) => x.p50)) : null
  for (const s of setups) {
    const xs = runs.get(s.name)!
    if (xs.length === 0) continue
    const rps = median(xs.map((x) => x.rps))
    const p50 = median(xs.map((x) => x.p50))
    const p99 = median(xs.map((x) => x.p99))
    const cpuUs = median(xs.map((x) => x.cpuUs))
    const errors = xs.reduce((a, x) => a + x.errors, 0)
    rows.push(`| ${s.name} | ${connections} | ${rps.toFixed(0)} | ${p50.toFixed(2)} | ${d === null ? '–' : `+${(p50 - d).toFixed(2)}`} | ${p99.toFixed(2)} | ${cpuUs.toFixed(0)} | ${errors} |`)
  }
}

// The ledger alone, in this process.
const hold = (i: number): HoldRequest => ({ requestId: `r${i}`, userId: 'u', keyId: 'k', keyHash: 'h', amount: 100, model: 'm:m', provider: 'm', endpoint: '/v1/chat/completions', priceId: null, stream: false })
const outcome = { cost: 7, promptTokens: 10, completionTokens: 3, cachedTokens: 0, status: 'ok' as const, latencyMs: 1 }
async function ledgerFigures(store: Store) {
  const now = Date.now()
  await store.db.insert(store.tables.users).values({ id: 'u', maxBudget: 10 ** 15, periodStart: 0, createdAt: now, updatedAt: now })
  await store.db.insert(store.tables.apiKeys).values({ id: 'k', userId: 'u', keyHash: 'h', keyPrefix: 'tg-', maxBudget: 10 ** 15, createdAt: now, updatedAt: now })
  const ledger = new Ledger(store.ledger, 900_000)
  const latencies: number[] = []
  for (let i = 0; i < 2000; i++) {
    const t = performance.now()
    const h = await ledger.reserve(hold(i))
    latencies.push(performance.now() - t)
    h.settle(outcome)
  }
  await ledger.flush()
  const pairs = 20_000
  const started = performance.now()
  for (let i = 0; i < pairs; i += 64) {
    const holds = await Promise.all(Array.from({ length: 64 }, (_, j) => ledger.reserve(hold(i + j))))
    for (const h of holds) h.settle(outcome)
  }
  await ledger.flush()
  const pairsPerSec = pairs / ((performance.now() - started) / 1000)
  latencies.sort((a, b) => a - b)
  await store.close()
  return { p50: latencies[1000]!, p99: latencies[1980]!, pairsPerSec }
}
const loadAfterGateways = loadavg()[0]!.toFixed(1)
const ledgerRows = gatewaysOnly
  ? ''
  : `
| ledger (in process) | reservation p50 ms | reservation p99 ms | reserve + settle pairs/s (64 at a time) |
|---|---|---|---|
${[['SQLite', await ledgerFigures(SqliteStore.open(join(dir, 'ledger.db')))] as const, ['Postgres', await ledgerFigures(await PostgresStore.open(await pg.database('bench_ledger')))] as const]
  .map(([name, l]) => `| ${name} | ${l.p50.toFixed(3)} | ${l.p99.toFixed(3)} | ${Math.round(l.pairsPerSec)} |`)
  .join('\n')}
`

console.log(`
tollgate stores — ${new Date().toISOString()}, ${seconds}s per run, ${repeats} alternating repeats, medians
bun ${Bun.version}, ${navigator.hardwareConcurrency} cores; wrk, the mock provider, Postgres and the gateways share the machine
direct mock at concurrency 1: p50 as the baseline of "added"; load average (1 min) ${loadAtStart} at the start, ${loadAfterGateways} after the gateway runs, ${loadavg()[0]!.toFixed(1)} at the end

| store | conc. | req/s | p50 ms | added p50 ms | p99 ms | gateway CPU µs/req | errors |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}
${ledgerRows}`)

for (const s of setups) for (const g of s.gateways) g.proc.kill('SIGTERM')
mock.kill('SIGTERM')
await Promise.all(setups.flatMap((s) => s.gateways.map((g) => g.proc.exited)))
await pg.destroy()
rmSync(dir, { recursive: true, force: true })
