/**
 * Whether the records queries hold up requests (issue 15): `bun bench/records-block.ts <db file> [runs]`, on a
 * database made by bench/console-data.ts. A gateway (as `npm start` runs it) on that file; for each admin
 * records query, its own latency, and meanwhile `/health` probed back to back and chat completions (mock
 * provider) sent back to back: their worst and p99 latencies while the query runs, against the same probes
 * with no query running. Medians over `runs` (default 3); a third argument keeps only the queries containing it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { started, startedLoggingTo } from './children'
import { median } from './wrk'

const [file, runsArg, only] = process.argv.slice(2)
if (!file) throw new Error('usage: bun bench/records-block.ts <db file> [runs] [only the queries containing this]')
const RUNS = Number(runsArg ?? 3)
const ROOT = join(import.meta.dir, '..')
const BUN = process.execPath
const MASTER = `bench-master-${crypto.randomUUID()}`
const dir = mkdtempSync(join(tmpdir(), 'tollgate-records-'))
const children: Array<{ kill(signal?: number | NodeJS.Signals): void }> = []
process.on('exit', () => {
  children.forEach((c) => c.kill('SIGTERM'))
  rmSync(dir, { recursive: true, force: true })
})

const mock = Bun.spawn([BUN, join(ROOT, 'test/support/mock-provider.ts'), '--port', '0'], { stdout: 'pipe', stderr: 'inherit' })
children.push(mock)
const mockUrl = await started(mock, /listening on (http:\/\/\S+)/)
const configFile = join(dir, 'bench.yaml')
writeFileSync(configFile, JSON.stringify({
  providers: { mock: { type: 'openai', base_url: `${mockUrl}/v1`, api_key: 'sk-bench-upstream' } },
  pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } },
}))
const gatewayLog = join(dir, 'gateway.log')
const gateway = Bun.spawn([BUN, join(ROOT, 'src/index.ts')], {
  env: {
    PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: MASTER, TOLLGATE_PORT: '0', TOLLGATE_DB: file, TOLLGATE_CONFIG: configFile,
    TOLLGATE_AUDIT_RETENTION_DAYS: '0', BUN_CONFIG_MAX_HTTP_REQUESTS: '4096', TOLLGATE_LOG_LEVEL: 'warn',
  },
  stdout: Bun.file(gatewayLog), stderr: 'inherit',
})
children.push(gateway)
const url = await startedLoggingTo(gateway, gatewayLog, /listening on (http:\/\/\S+)/)
const master = { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }
const user = `records-bench-${crypto.randomUUID().slice(0, 8)}`
await fetch(`${url}/v1/users`, { method: 'POST', headers: master, body: JSON.stringify({ id: user }) })
const key = ((await (await fetch(`${url}/v1/keys`, { method: 'POST', headers: master, body: JSON.stringify({ user_id: user }) })).json()) as { key: string }).key
const chatBody = JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })

/** /health and chat sent back to back until `until` settles: each one's latencies, ms. */
async function probe(until: Promise<unknown>) {
  let done = false
  void until.finally(() => (done = true))
  const health: number[] = []
  const chat: number[] = []
  const loop = async (samples: number[], call: () => Promise<Response>) => {
    while (!done) {
      const t = performance.now()
      await (await call()).arrayBuffer()
      samples.push(performance.now() - t)
    }
  }
  await Promise.all([
    loop(health, () => fetch(`${url}/health`)),
    loop(chat, () => fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: chatBody })),
  ])
  return { health, chat }
}
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(0.99 * xs.length))] ?? NaN
const max = (xs: number[]) => Math.max(...xs)

// A time 30 days back that is not on a day boundary: the summary reads that partial day from raw rows.
const since30 = new Date(Date.now() - 30 * 86_400_000).toISOString()
const deepCursor = ((await (await fetch(`${url}/v1/usage/summary?limit=50&offset=100000`, { headers: master })).json()) as { next_cursor: string }).next_cursor
const QUERIES = [
  '/v1/usage/summary?limit=50',
  '/v1/usage/summary?limit=50&offset=5000',
  '/v1/usage/summary?limit=50&offset=100000',
  `/v1/usage/summary?limit=50&cursor=${deepCursor}`,
  `/v1/usage/summary?limit=50&since=${since30}`,
  '/v1/usage/summary?limit=50&user_id=user-0001',
  '/v1/usage/summary?limit=50&model=provider1:model-4&status=error',
  '/v1/users/user-0001/usage?limit=50',
  '/v1/usage?model=nobody:none&limit=50',
  '/v1/usage?limit=50&offset=500000',
  '/v1/usage?status=expired&limit=50',
  '/v1/usage/daily?by=user',
  '/v1/usage/overview',
  '/v1/audit?limit=50&status=402',
]

const idle = await probe(Bun.sleep(2000))
console.log(`no query running: /health max ${max(idle.health).toFixed(1)} ms, chat p99 ${p99(idle.chat).toFixed(1)} ms`)
console.log('| query | query ms | /health max ms | chat p99 ms | chat max ms |')
console.log('|---|---|---|---|---|')
for (const q of QUERIES.filter((q) => !only || q.includes(only))) {
  const rows: number[][] = []
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now()
    const query = fetch(url + q, { headers: master }).then(async (res) => {
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`${q}: ${res.status}`)
      return performance.now() - t
    })
    const [ms, probes] = await Promise.all([query, probe(query)])
    rows.push([ms, max(probes.health), p99(probes.chat), max(probes.chat)])
  }
  const col = (i: number) => median(rows.map((r) => r[i]!)).toFixed(1)
  console.log(`| \`${q.replace(/cursor=[^&]+/, 'cursor=(after offset 100000)').replace(/since=[^&]+/, 'since=(30 days ago, mid-day)')}\` | ${col(0)} | ${col(1)} | ${col(2)} | ${col(3)} |`)
}
process.exit(0)
