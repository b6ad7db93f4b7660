/**
 * The mock provider called directly, through the floor (bench/floor-proxy.ts: the least a Bun proxy can
 * do, no governance) and through tollgate, side by side in one run, on 127.0.0.1 only. Through tollgate
 * every governance feature is on: per-IP rate limit, key auth, required pricing, budget reservation and
 * settlement, usage rows and the request log. Issue 15's targets are ratios to the floor, so the floor is
 * measured in the same minutes as tollgate: on a machine whose speed drifts from one minute to the next,
 * a ratio between two separate runs is mostly the drift.
 *
 *   bench/setup.sh && npm run bench            (or: bun bench/run.ts [seconds per run] [repeats])
 *
 * Scenarios: chat JSON and chat SSE (20 chunks), at concurrency 1 and 64; direct, floor and gateway runs
 * alternate, `repeats` times each, and the medians are reported. Also: time to first stream event at
 * concurrency 1, the gateway's CPU milliseconds per request, and its peak RSS. The gateway starts with the
 * runtime settings `npm start` gives it (src/runtime-env.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RUNTIME_ENV } from '../src/runtime-env'
import { started, startedLoggingTo } from './children'
import { cpuMs, median, peakRssMb, timeToFirstEvent, wrk as wrkFor, type Target, type WrkResult } from './wrk'

const seconds = Number(process.argv[2] ?? 5)
const repeats = Number(process.argv[3] ?? 3)
const ROOT = join(import.meta.dir, '..')
const BUN = process.execPath
const MASTER = `bench-master-${crypto.randomUUID()}`
const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'))


const children: Array<{ kill(signal?: number | NodeJS.Signals): void }> = []
process.on('exit', () => children.forEach((c) => c.kill('SIGTERM')))

const mock = Bun.spawn([BUN, join(ROOT, 'test/support/mock-provider.ts'), '--port', '0', '--chunks', '20'], { stdout: 'pipe', stderr: 'inherit' })
children.push(mock)
const mockUrl = await started(mock, /listening on (http:\/\/\S+)/)
const floor = Bun.spawn([BUN, join(import.meta.dir, 'floor-proxy.ts'), mockUrl], { stdout: 'pipe', stderr: 'inherit' })
children.push(floor)
const floorUrl = await started(floor, /listening on (http:\/\/\S+)/)

const configFile = join(dir, 'bench.yaml')
const gatewayLog = join(dir, 'gateway.log')
writeFileSync(configFile, JSON.stringify({
  providers: { mock: { type: 'openai', base_url: `${mockUrl}/v1`, api_key: 'sk-bench-upstream' } },
  pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } },
}))
const gateway = Bun.spawn([BUN, join(ROOT, 'src/index.ts')], {
  env: {
    PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: MASTER, TOLLGATE_PORT: '0', TOLLGATE_DB: join(dir, 'bench.db'),
    TOLLGATE_CONFIG: configFile, TOLLGATE_RATE_LIMIT_PER_MIN: '60000000',
    // As npm start and the container image start it; then JavaScriptCore's and the allocator's own settings
    // given to this script, to measure one against them (BUN_JSC_useFTLJIT=1: the top compiler tier back on).
    ...RUNTIME_ENV,
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('BUN_JSC_') || name.startsWith('MIMALLOC_'))),
  },
  // Its request log lines go to a file, as a container's log driver would take them: read by nobody on
  // these two cores during the run.
  stdout: Bun.file(gatewayLog), stderr: 'inherit',
})
children.push(gateway)
const gatewayUrl = await startedLoggingTo(gateway, gatewayLog, /listening on (http:\/\/\S+)/)

const admin = async (path: string, body: unknown) =>
  (await (await fetch(gatewayUrl + path, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { key?: string }
await admin('/v1/users', { id: 'bench', max_budget: 1_000_000 })
const key = (await admin('/v1/keys', { user_id: 'bench' })).key!

const messages = [{ role: 'user', content: 'Write one short sentence about toll gates.' }]
type Via = 'direct' | 'floor' | 'gateway'
const target = (via: Via, stream: boolean): Target => ({
  url: `${{ direct: mockUrl, floor: floorUrl, gateway: gatewayUrl }[via]}/v1/chat/completions`,
  key: via === 'gateway' ? key : 'sk-bench-upstream',
  body: JSON.stringify({ model: via === 'gateway' ? 'mock:gpt-mock' : 'gpt-mock', messages, max_tokens: 64, stream }),
})

const wrk = (t: Target, connections: number) => wrkFor(t, connections, seconds)

const fmt = (n: number, d = 2) => n.toFixed(d)

// Warm both paths (JIT, connection pools, SQLite pages) before measuring.
await wrk(target('direct', false), 8)
await wrk(target('floor', false), 8)
await wrk(target('gateway', false), 8)

const rows: string[] = []
let gatewayCpu = 0
let gatewayRequests = 0
for (const stream of [false, true]) {
  for (const connections of [1, 64]) {
    const direct: WrkResult[] = []
    const bare: WrkResult[] = []
    const via: Array<WrkResult & { cpu: number }> = []
    for (let r = 0; r < repeats; r++) {
      direct.push(await wrk(target('direct', stream), connections))
      bare.push(await wrk(target('floor', stream), connections))
      const before = cpuMs(gateway.pid)
      const g = await wrk(target('gateway', stream), connections)
      const used = cpuMs(gateway.pid) - before
      gatewayCpu += used
      gatewayRequests += g.requests
      via.push({ ...g, cpu: used / g.requests })
    }
    const med = (xs: WrkResult[]) => ({ rps: median(xs.map((x) => x.rps)), p50: median(xs.map((x) => x.p50)), p99: median(xs.map((x) => x.p99)) })
    const [d, f, g] = [med(direct), med(bare), med(via)]
    const cpu = median(via.map((x) => x.cpu))
    const errors = [...direct, ...bare, ...via].reduce((a, x) => a + x.errors, 0)
    rows.push(
      `| chat ${stream ? 'SSE ' : 'JSON'} | ${String(connections).padStart(2)} | ${fmt(d.rps, 0)} | ${fmt(f.rps, 0)} | ${fmt(g.rps, 0)} | ${fmt(f.rps / d.rps)}× | **${fmt(g.rps / f.rps)}×** | ${fmt(d.p50)} | +${fmt(f.p50 - d.p50)} | +${fmt(g.p50 - d.p50)} | **+${fmt(g.p50 - f.p50)}** | ${fmt(g.p99)} | ${fmt(cpu, 3)} | ${errors} |`,
    )
  }
}

const ttfe: Record<Via, number[]> = { direct: [], floor: [], gateway: [] }
for (let r = 0; r < repeats; r++) for (const via of ['direct', 'floor', 'gateway'] as const) ttfe[via].push(await timeToFirstEvent(target(via, true), 200))
const [ttfeDirect, ttfeFloor, ttfeGateway] = [median(ttfe.direct), median(ttfe.floor), median(ttfe.gateway)]

// The load's peak, read before the records queries below start the records reader's thread.
const peakUnderLoad = peakRssMb(gateway.pid)
const logLines = (await Bun.file(gatewayLog).text()).split('\n').filter((line) => line.startsWith('{"time"')).length
const settled = await (await fetch(`${gatewayUrl}/v1/users/bench`, { headers: { authorization: `Bearer ${MASTER}` } })).json() as { spend: number; reserved: number }
const usageRows = await (await fetch(`${gatewayUrl}/v1/usage/summary`, { headers: { authorization: `Bearer ${MASTER}` } })).json() as { totals: { requests: number } }

console.log(`
tollgate benchmark — ${new Date().toISOString()}, ${seconds}s per run, ${repeats} alternating repeats, medians
bun ${Bun.version}, ${navigator.hardwareConcurrency} cores; wrk, the mock provider and the gateway share the machine

| scenario | conc. | direct req/s | floor req/s | gateway req/s | floor/direct | gateway/floor | direct p50 ms | floor added p50 | gateway added p50 | gateway − floor p50 | gateway p99 ms | gateway CPU ms/req | errors |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

time to first stream event, concurrency 1 (median of ${repeats}×200): direct ${fmt(ttfeDirect, 3)} ms, floor ${fmt(ttfeFloor, 3)} ms (added ${fmt(ttfeFloor - ttfeDirect, 3)}), gateway ${fmt(ttfeGateway, 3)} ms (**added ${fmt(ttfeGateway - ttfeDirect, 3)}**)
gateway CPU over all measured runs: ${fmt(gatewayCpu / gatewayRequests, 3)} ms/request; peak RSS under load ${fmt(peakUnderLoad, 1)} MB, after the records queries ${fmt(peakRssMb(gateway.pid), 1)} MB; the floor proxy peaked at ${fmt(peakRssMb(floor.pid), 1)} MB
ledger after the run: ${usageRows.totals.requests} usage rows, spend $${settled.spend}, reserved $${settled.reserved}; ${logLines} JSON request log lines on stdout
`)

gateway.kill('SIGTERM')
floor.kill('SIGTERM')
mock.kill('SIGTERM')
await Promise.all([gateway.exited, floor.exited, mock.exited])
rmSync(dir, { recursive: true, force: true })
