/**
 * The mock provider called directly and through tollgate, side by side in one run, on 127.0.0.1 only.
 * Through tollgate every governance feature is on: per-IP rate limit, key auth, required pricing, budget
 * reservation and settlement, usage rows and the request log.
 *
 *   bench/setup.sh && npm run bench            (or: bun bench/run.ts [seconds per run] [repeats])
 *
 * Scenarios: chat JSON and chat SSE (20 chunks), at concurrency 1 and 64; direct and gateway runs
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

const configFile = join(dir, 'bench.yaml')
const gatewayLog = join(dir, 'gateway.log')
writeFileSync(configFile, JSON.stringify({
  providers: { mock: { type: 'openai', base_url: `${mockUrl}/v1`, api_key: 'sk-bench-upstream' } },
  pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } },
}))
const gateway = Bun.spawn([BUN, join(ROOT, 'src/index.ts')], {
  env: {
    PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: MASTER, TOLLGATE_PORT: '0', TOLLGATE_DB: join(dir, 'bench.db'),
    TOLLGATE_CONFIG: configFile, TOLLGATE_RATE_LIMIT_PER_MIN: '100000000',
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
const target = (via: 'direct' | 'gateway', stream: boolean): Target => ({
  url: via === 'direct' ? `${mockUrl}/v1/chat/completions` : `${gatewayUrl}/v1/chat/completions`,
  key: via === 'direct' ? 'sk-bench-upstream' : key,
  body: JSON.stringify({ model: via === 'direct' ? 'gpt-mock' : 'mock:gpt-mock', messages, max_tokens: 64, stream }),
})

const wrk = (t: Target, connections: number) => wrkFor(t, connections, seconds)

const fmt = (n: number, d = 2) => n.toFixed(d)

// Warm both paths (JIT, connection pools, SQLite pages) before measuring.
await wrk(target('direct', false), 8)
await wrk(target('gateway', false), 8)

const rows: string[] = []
let gatewayCpu = 0
let gatewayRequests = 0
for (const stream of [false, true]) {
  for (const connections of [1, 64]) {
    const direct: WrkResult[] = []
    const via: WrkResult[] = []
    for (let r = 0; r < repeats; r++) {
      direct.push(await wrk(target('direct', stream), connections))
      const before = cpuMs(gateway.pid)
      const g = await wrk(target('gateway', stream), connections)
      const used = cpuMs(gateway.pid) - before
      gatewayCpu += used
      gatewayRequests += g.requests
      via.push({ ...g, errors: g.errors })
      ;(via.at(-1) as WrkResult & { cpu?: number }).cpu = used / g.requests
    }
    const d = { rps: median(direct.map((x) => x.rps)), p50: median(direct.map((x) => x.p50)), p99: median(direct.map((x) => x.p99)) }
    const g = { rps: median(via.map((x) => x.rps)), p50: median(via.map((x) => x.p50)), p99: median(via.map((x) => x.p99)) }
    const cpu = median(via.map((x) => (x as WrkResult & { cpu: number }).cpu))
    const errors = [...direct, ...via].reduce((a, x) => a + x.errors, 0)
    rows.push(
      `| chat ${stream ? 'SSE ' : 'JSON'} | ${String(connections).padStart(2)} | ${fmt(d.rps, 0)} | ${fmt(g.rps, 0)} | **${fmt(g.rps / d.rps)}×** | ${fmt(d.p50)} | ${fmt(g.p50)} | **+${fmt(g.p50 - d.p50)}** | ${fmt(d.p99)} | ${fmt(g.p99)} | ${fmt(cpu, 3)} | ${errors} |`,
    )
  }
}

const ttfeDirect: number[] = []
const ttfeGateway: number[] = []
for (let r = 0; r < repeats; r++) {
  ttfeDirect.push(await timeToFirstEvent(target('direct', true), 200))
  ttfeGateway.push(await timeToFirstEvent(target('gateway', true), 200))
}

// The load's peak, read before the records queries below start the records reader's thread.
const peakUnderLoad = peakRssMb(gateway.pid)
const logLines = (await Bun.file(gatewayLog).text()).split('\n').filter((line) => line.startsWith('{"time"')).length
const settled = await (await fetch(`${gatewayUrl}/v1/users/bench`, { headers: { authorization: `Bearer ${MASTER}` } })).json() as { spend: number; reserved: number }
const usageRows = await (await fetch(`${gatewayUrl}/v1/usage/summary`, { headers: { authorization: `Bearer ${MASTER}` } })).json() as { totals: { requests: number } }

console.log(`
tollgate benchmark — ${new Date().toISOString()}, ${seconds}s per run, ${repeats} alternating repeats, medians
bun ${Bun.version}, ${navigator.hardwareConcurrency} cores; wrk, the mock provider and the gateway share the machine

| scenario | conc. | direct req/s | gateway req/s | ratio | direct p50 ms | gateway p50 ms | added p50 ms | direct p99 ms | gateway p99 ms | gateway CPU ms/req | errors |
|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

time to first stream event, concurrency 1 (median of ${repeats}×200): direct ${fmt(ttfeDirect.length ? median(ttfeDirect) : 0, 3)} ms, gateway ${fmt(median(ttfeGateway), 3)} ms, added ${fmt(median(ttfeGateway) - median(ttfeDirect), 3)} ms
gateway CPU over all measured runs: ${fmt(gatewayCpu / gatewayRequests, 3)} ms/request; peak RSS under load ${fmt(peakUnderLoad, 1)} MB, after the records queries ${fmt(peakRssMb(gateway.pid), 1)} MB
ledger after the run: ${usageRows.totals.requests} usage rows, spend $${settled.spend}, reserved $${settled.reserved}; ${logLines} JSON request log lines on stdout
`)

gateway.kill('SIGTERM')
mock.kill('SIGTERM')
await Promise.all([gateway.exited, mock.exited])
rmSync(dir, { recursive: true, force: true })
