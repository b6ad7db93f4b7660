/**
 * Many slow streams open at once through the gateway (issue 15): `bun bench/slow-streams.ts [streams] [first-ms]`
 * (defaults 2,000 and 3,000). A provider whose streams wait `first-ms` before their first event
 * (bench/slow-provider.ts, its own process) and a gateway with every governance feature on, started as
 * `npm start` starts it (BUN_CONFIG_MAX_HTTP_REQUESTS=4096). All streams are opened at once; for each, the
 * time from the provider sending its first event to this client reading it, and the gateway's peak RSS.
 * With `--runtime-cap N` the gateway starts under that fetch cap instead (256: Bun's default). With
 * `--floor` the streams go through bench/floor-proxy.ts instead of the gateway: what the provider, this
 * client and a bare Bun proxy take on their own, on the same cores.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RUNTIME_ENV } from '../src/runtime-env'
import { started, startedLoggingTo } from './children'
import { peakRssMb } from './wrk'

// This client opens every stream at once: its own fetch cap must allow that (read at its start).
if (!process.env.BUN_CONFIG_MAX_HTTP_REQUESTS) {
  const self = Bun.spawn([process.execPath, ...process.argv.slice(1)], { env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: '8192' }, stdio: ['inherit', 'inherit', 'inherit'] })
  process.exit(await self.exited)
}

const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'))
const STREAMS = Number(positional[0] ?? 2000)
const FIRST_MS = Number(positional[1] ?? 3000)
const capAt = process.argv.indexOf('--runtime-cap')
const RUNTIME_CAP = capAt > 0 ? process.argv[capAt + 1]! : '4096'
const ROOT = join(import.meta.dir, '..')
const BUN = process.execPath
const MASTER = `bench-master-${crypto.randomUUID()}`
const dir = mkdtempSync(join(tmpdir(), 'tollgate-slow-'))
const children: Array<{ kill(signal?: number | NodeJS.Signals): void }> = []
process.on('exit', () => {
  children.forEach((c) => c.kill('SIGTERM'))
  rmSync(dir, { recursive: true, force: true })
})

const provider = Bun.spawn([BUN, join(import.meta.dir, 'slow-provider.ts'), '--port', '0', '--first-ms', String(FIRST_MS)], {
  stdout: 'pipe', stderr: 'inherit', env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: '8192' },
})
children.push(provider)
const providerUrl = await started(provider, /listening on (http:\/\/\S+)/)

const configFile = join(dir, 'bench.yaml')
writeFileSync(configFile, JSON.stringify({
  providers: { slow: { type: 'openai', base_url: `${providerUrl}/v1`, api_key: 'sk-bench-upstream' } },
  pricing: { 'slow:gpt-slow': { input_per_million: 1, output_per_million: 2 } },
}))
const floor = process.argv.includes('--floor')
const gatewayLog = join(dir, 'gateway.log')
const gateway = Bun.spawn(floor ? [BUN, join(import.meta.dir, 'floor-proxy.ts'), providerUrl] : [BUN, join(ROOT, 'src/index.ts')], {
  env: {
    PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: MASTER, TOLLGATE_PORT: '0', TOLLGATE_DB: join(dir, 'bench.db'),
    TOLLGATE_CONFIG: configFile, TOLLGATE_RATE_LIMIT_PER_MIN: '60000000', ...RUNTIME_ENV, BUN_CONFIG_MAX_HTTP_REQUESTS: RUNTIME_CAP,
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('BUN_JSC_'))),
  },
  stdout: Bun.file(gatewayLog), stderr: 'inherit',
})
children.push(gateway)
const url = await startedLoggingTo(gateway, gatewayLog, /listening on (http:\/\/\S+)/)
const admin = async (path: string, body: unknown) =>
  (await (await fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { key?: string }
if (!floor) await admin('/v1/users', { id: 'bench', max_budget: 1_000_000 })
const key = floor ? 'sk-bench-upstream' : (await admin('/v1/keys', { user_id: 'bench' })).key!
const body = JSON.stringify({ model: 'slow:gpt-slow', stream: true, max_tokens: 16, messages: [{ role: 'user', content: 'go' }] })
const now = () => performance.timeOrigin + performance.now()

/** One stream: its status, and how long its first event took from the provider to here (ms). */
async function oneStream(): Promise<{ status: number; lagMs?: number }> {
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body })
  if (res.status !== 200) {
    await res.text()
    return { status: res.status }
  }
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let lagMs: number | undefined
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (lagMs === undefined) {
      text += decoder.decode(value, { stream: true })
      const m = /"sent_at":([\d.]+)/.exec(text)
      if (m) lagMs = now() - Number(m[1])
    }
  }
  return { status: 200, lagMs }
}

const started_ = performance.now()
const results = await Promise.all(Array.from({ length: STREAMS }, oneStream))
const wallS = (performance.now() - started_) / 1000
const lags = results.flatMap((r) => (r.lagMs === undefined ? [] : [r.lagMs])).sort((a, b) => a - b)
const pct = (p: number) => lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))] ?? NaN
const statuses: Record<number, number> = {}
for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1
console.log(`streams ${STREAMS}, first event after ${FIRST_MS} ms, ${floor ? 'through the bare floor proxy' : `gateway fetch cap ${RUNTIME_CAP}`}: ${wallS.toFixed(1)} s`)
console.log(`statuses ${JSON.stringify(statuses)}`)
console.log(`first event, provider → client, ms: p50 ${pct(50).toFixed(1)}  p99 ${pct(99).toFixed(1)}  max ${(lags.at(-1) ?? NaN).toFixed(1)}  (${lags.length} streams)`)
console.log(`${floor ? 'proxy' : 'gateway'} peak RSS ${peakRssMb(gateway.pid).toFixed(0)} MB`)
process.exit(0)
