/**
 * Soak: the gateway under steady mixed load for a while, on 127.0.0.1 only, watching for leaks.
 *
 *   bun bench/soak.ts [minutes=10]        (or: npm run soak -- 10)
 *
 * Starts the mock provider and the gateway as child processes (as bench/run.ts does), with every
 * governance feature on: per-IP rate limit (high), key auth, required pricing, budget holds and
 * settlement, usage rows, the request log. Then, at a bounded concurrency, until the time is up:
 *
 *   ~60% chat JSON · ~25% chat SSE read to the end · ~10% SSE aborted by the client after the first
 *   chunk · ~5% refused (402 unpriced model, 401 unknown key)
 *
 * Every 10 s it samples the gateway's RSS (/proc/PID/status VmRSS), its open file descriptors
 * (/proc/PID/fd), requests done, errors (an unexpected status or a failed request), and the ledger
 * (GET /v1/users/<id> with the master key). At the end: the samples as a table, and a verdict on RSS
 * (first third vs last third), file descriptors, and whether `reserved` returns to 0 once the load stops.
 * Everything it started is stopped; the process exits 0 when every verdict holds, 1 otherwise.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { started } from './children'

const minutes = Number(process.argv[2] ?? 10)
if (!(minutes > 0)) {
  console.error('usage: bun bench/soak.ts [minutes=10]')
  process.exit(2)
}
const CONCURRENCY = 32
const SAMPLE_EVERY_MS = 10_000
const SETTLE_WAIT_MS = 15_000
const ROOT = join(import.meta.dir, '..')
const BUN = process.execPath
const MASTER = `soak-master-${crypto.randomUUID()}`
const USER = 'soak'
const dir = mkdtempSync(join(tmpdir(), 'tollgate-soak-'))

// ---------------------------------------------------------------------------------------------------
// Children


const children: Array<ReturnType<typeof Bun.spawn>> = []
const killAll = () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL'))
process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => { killAll(); process.exit(130) })

const mock = Bun.spawn(
  [BUN, join(ROOT, 'test/support/mock-provider.ts'), '--port', '0', '--latency', '5', '--chunks', '10', '--chunk-delay', '10'],
  { stdout: 'pipe', stderr: 'inherit' },
)
children.push(mock)
const mockUrl = await started(mock, /listening on (http:\/\/\S+)/)

const configFile = join(dir, 'soak.yaml')
writeFileSync(configFile, JSON.stringify({
  providers: { mock: { type: 'openai', base_url: `${mockUrl}/v1`, api_key: 'sk-soak-upstream' } },
  pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } },
}))
const gateway = Bun.spawn([BUN, join(ROOT, 'src/index.ts')], {
  env: {
    PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: MASTER, TOLLGATE_HOST: '127.0.0.1', TOLLGATE_PORT: '0',
    TOLLGATE_DB: join(dir, 'soak.db'), TOLLGATE_CONFIG: configFile, TOLLGATE_RATE_LIMIT_PER_MIN: '60000000',
  },
  stdout: 'pipe', stderr: 'inherit',
})
children.push(gateway)
const gatewayUrl = await started(gateway, /listening on (http:\/\/\S+)/)

const adminHeaders = { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }
async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(gatewayUrl + path, { method, headers: adminHeaders, body: body === undefined ? undefined : JSON.stringify(body) })
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}
await admin('POST', '/v1/users', { id: USER, max_budget: 1_000_000, budget_period: 'monthly' })
const key = (await admin<{ key: string }>('POST', '/v1/keys', { user_id: USER, name: 'soak' })).key

// ---------------------------------------------------------------------------------------------------
// Load

type Kind = 'json' | 'sse' | 'abort' | 'unpriced' | 'badkey'
const KINDS: Array<[Kind, number]> = [['json', 60], ['sse', 25], ['abort', 10], ['unpriced', 2.5], ['badkey', 2.5]]
const pickKind = (): Kind => {
  let r = Math.random() * 100
  for (const [kind, weight] of KINDS) if ((r -= weight) < 0) return kind
  return 'json'
}

const stats = { done: 0, errors: 0, byKind: { json: 0, sse: 0, abort: 0, unpriced: 0, badkey: 0 } as Record<Kind, number> }
const firstErrors: string[] = []
const noteError = (what: string) => {
  stats.errors++
  if (firstErrors.length < 10) firstErrors.push(what)
}

const chatBody = (model: string, stream: boolean) =>
  JSON.stringify({ model, stream, max_tokens: 64, messages: [{ role: 'user', content: 'Write one short sentence about toll gates.' }] })

async function one(kind: Kind): Promise<void> {
  const stream = kind === 'sse' || kind === 'abort'
  const model = kind === 'unpriced' ? 'mock:unpriced-model' : 'mock:gpt-mock'
  const secret = kind === 'badkey' ? `tg-${'x'.repeat(43)}` : key
  const expected = kind === 'unpriced' ? 402 : kind === 'badkey' ? 401 : 200
  const controller = new AbortController()
  const res = await fetch(`${gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: chatBody(model, stream),
    signal: controller.signal,
  })
  if (res.status !== expected) {
    noteError(`${kind}: status ${res.status} (expected ${expected}): ${(await res.text()).slice(0, 200)}`)
    return
  }
  if (kind === 'abort') {
    const reader = res.body!.getReader()
    const first = await reader.read()
    if (first.done) noteError('abort: the stream ended before its first chunk')
    controller.abort()
    await reader.cancel().catch(() => {})
    return
  }
  const text = await res.text()
  if (kind === 'sse' && !text.includes('data: [DONE]')) noteError(`sse: the stream did not end with [DONE]: …${text.slice(-200)}`)
  if (kind === 'json' && !text.includes('"chat.completion"')) noteError(`json: not a completion: ${text.slice(0, 200)}`)
}

let stopLoad = false
async function worker(): Promise<void> {
  while (!stopLoad) {
    const kind = pickKind()
    try {
      await one(kind)
    } catch (e) {
      // A client abort is this script's own doing; anything else is a failed request.
      if (!(kind === 'abort' && (e as Error).name === 'AbortError')) noteError(`${kind}: ${(e as Error).message}`)
    }
    stats.done++
    stats.byKind[kind]++
  }
}

// ---------------------------------------------------------------------------------------------------
// Samples

interface Sample { t: number; rssMb: number; fds: number; done: number; errors: number; reserved: number; spend: number }
const samples: Sample[] = []
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length
const ledger = () => admin<{ reserved: number; spend: number }>('GET', `/v1/users/${USER}`)

const t0 = Date.now()
async function sample(): Promise<Sample> {
  const { reserved, spend } = await ledger()
  const s = { t: (Date.now() - t0) / 1000, rssMb: rssMb(gateway.pid), fds: fdCount(gateway.pid), done: stats.done, errors: stats.errors, reserved, spend }
  samples.push(s)
  return s
}

const fmt = (n: number, d = 1) => n.toFixed(d)
console.log(`soak: ${minutes} min at concurrency ${CONCURRENCY}; gateway pid ${gateway.pid} at ${gatewayUrl}, mock at ${mockUrl}`)
await sample()
const workers = Array.from({ length: CONCURRENCY }, worker)
const endAt = t0 + minutes * 60_000
while (Date.now() < endAt) {
  await Bun.sleep(Math.min(SAMPLE_EVERY_MS, endAt - Date.now()))
  const s = await sample()
  console.log(`  ${fmt(s.t, 0)}s: ${s.done} requests, ${s.errors} errors, RSS ${fmt(s.rssMb)} MB, ${s.fds} fds, reserved $${s.reserved}`)
}
stopLoad = true
await Promise.all(workers)
const loadSeconds = (Date.now() - t0) / 1000

// The load has stopped: every hold should settle within moments.
const settleStart = Date.now()
let after = await ledger()
while (after.reserved !== 0 && Date.now() - settleStart < SETTLE_WAIT_MS) {
  await Bun.sleep(250)
  after = await ledger()
}
const settleMs = Date.now() - settleStart
const final = await sample()
const summary = await admin<{ totals: { requests: number; cost: number } }>('GET', `/v1/usage/summary?user_id=${USER}`)

// ---------------------------------------------------------------------------------------------------
// Report

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
// The thirds are taken over the samples under load (the first one, before any load, and the last, after
// it, are left out).
const underLoad = samples.slice(1, -1)
const third = Math.max(1, Math.floor(underLoad.length / 3))
const head = underLoad.slice(0, third)
const tail = underLoad.slice(-third)
const rssFirst = mean(head.map((s) => s.rssMb))
const rssLast = mean(tail.map((s) => s.rssMb))
const fdFirst = mean(head.map((s) => s.fds))
const fdLast = mean(tail.map((s) => s.fds))
const rssOk = rssLast <= rssFirst * 1.1 + 5
const fdOk = fdLast <= fdFirst + 5
const reservedOk = after.reserved === 0
const spendOk = Math.abs(final.spend - summary.totals.cost) < 1e-9
const errorsOk = stats.errors === 0

const rows = samples.map((s, i) => {
  const prev = samples[i - 1]
  const edge = i === 0 || i === samples.length - 1
  const rate = prev && !edge ? fmt((s.done - prev.done) / (s.t - prev.t), 0) : '—'
  const label = i === 0 ? ' (before load)' : i === samples.length - 1 ? ' (after load)' : ''
  return `| ${fmt(s.t, 0)}${label} | ${fmt(s.rssMb)} | ${s.fds} | ${s.done} | ${rate} | ${s.errors} | ${s.reserved} | ${s.spend} |`
})
const pct = (a: number, b: number) => (a === 0 ? 0 : ((b - a) / a) * 100)
const mix = KINDS.map(([k]) => `${k} ${stats.byKind[k]}`).join(', ')

// A clean stop: SIGTERM, and how long the gateway takes to drain and exit.
const stopStart = Date.now()
gateway.kill('SIGTERM')
const exitedInTime = await Promise.race([gateway.exited.then(() => true), Bun.sleep(40_000).then(() => false)])
const stopMs = Date.now() - stopStart
if (!exitedInTime) gateway.kill('SIGKILL')
mock.kill('SIGTERM')
await Promise.race([mock.exited, Bun.sleep(5_000)])
killAll()
rmSync(dir, { recursive: true, force: true })

const ok = rssOk && fdOk && reservedOk && spendOk && errorsOk
console.log(`
tollgate soak — ${new Date(t0).toISOString()}, ${minutes} min of load (${fmt(loadSeconds, 0)} s), concurrency ${CONCURRENCY}, 127.0.0.1
bun ${Bun.version}, ${navigator.hardwareConcurrency} cores; the client, the mock provider (5 ms latency, 10 SSE chunks 10 ms apart) and the gateway share the machine
mix: ${mix} — ${stats.done} requests, ${fmt(stats.done / loadSeconds, 0)}/s

| t (s) | gateway RSS (MB) | open fds | requests done | req/s | errors | reserved ($) | spend ($) |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

verdict:
- RSS: first third ${fmt(rssFirst)} MB → last third ${fmt(rssLast)} MB (${rssLast >= rssFirst ? '+' : ''}${fmt(rssLast - rssFirst)} MB, ${pct(rssFirst, rssLast) >= 0 ? '+' : ''}${fmt(pct(rssFirst, rssLast))}%): ${rssOk ? 'stable' : 'GROWING (over +10% + 5 MB)'}
- open fds: first third ${fmt(fdFirst)} → last third ${fmt(fdLast)} (${fdLast >= fdFirst ? '+' : ''}${fmt(fdLast - fdFirst)}): ${fdOk ? 'stable' : 'GROWING (over +5)'}
- reserved after the load stopped: $${after.reserved} after ${settleMs} ms: ${reservedOk ? 'every hold settled' : `NOT SETTLED within ${SETTLE_WAIT_MS / 1000} s`}
- spend $${final.spend} vs the usage rows' total $${summary.totals.cost} (${summary.totals.requests} rows): ${spendOk ? 'equal' : 'DIFFERENT'}
- errors: ${stats.errors}${firstErrors.length ? `\n    ${firstErrors.join('\n    ')}` : ''}
- clean stop (SIGTERM): ${exitedInTime ? `exited in ${stopMs} ms` : `still running after ${stopMs} ms, killed`}
=> ${ok ? 'PASS' : 'FAIL'}
`)
process.exit(ok ? 0 : 1)
