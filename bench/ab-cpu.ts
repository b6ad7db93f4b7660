/**
 * CPU per request of two builds of the gateway, side by side: both run at once against one mock provider,
 * and fixed batches of requests go to each in turn, alternating, so that both see the same machine. What is
 * compared is the gateway process's own CPU time per request (from /proc), which a busy machine inflates far
 * less than req/s, and inflates alike for both when the batches alternate.
 *
 *   bun bench/ab-cpu.ts <old checkout> <new checkout> [requests per batch] [rounds] [--agent]
 *
 * `--agent` sends a coding agent's kind of body instead of one short message: 24 tools with their descriptions and
 * schemas and a 40-turn history, ~90 KB of JSON, nearly all of it string text.
 *
 * Each checkout needs its own node_modules. A side may also name runtime settings to start its gateway
 * with, after a `?`: `bun bench/ab-cpu.ts . '.?BUN_JSC_useFTLJIT=0'` compares one checkout with and
 * without a JavaScriptCore option. Runs on 127.0.0.1 only and stops by itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { started, startedLoggingTo } from './children'
import { cpuMs, median, peakRssMb } from './wrk'

/** A side: a checkout, and the environment settings given after `?` (NAME=value, joined by `&`). */
const sideOf = (arg: string) => {
  const [root, settings = ''] = arg.split('?') as [string, string?]
  return { root, env: Object.fromEntries(settings.split('&').filter(Boolean).map((pair) => pair.split('=', 2) as [string, string])) }
}
const [oldSide, newSide] = [sideOf(process.argv[2]!), sideOf(process.argv[3]!)]
const positional = process.argv.slice(4).filter((arg) => !arg.startsWith('--'))
const perBatch = Number(positional[0] ?? 2000)
const rounds = Number(positional[1] ?? 5)
const agentBody = process.argv.includes('--agent')
const BUN = process.execPath
const dir = mkdtempSync(join(tmpdir(), 'tollgate-ab-'))
const children: Array<{ kill(signal?: number | NodeJS.Signals): void }> = []
process.on('exit', () => {
  children.forEach((c) => c.kill('SIGTERM'))
  rmSync(dir, { recursive: true, force: true })
})

const mock = Bun.spawn([BUN, join(newSide.root, 'test/support/mock-provider.ts'), '--port', '0', '--chunks', '20'], { stdout: 'pipe', stderr: 'inherit' })
children.push(mock)
const mockUrl = await started(mock, /listening on (http:\/\/\S+)/)

interface Side { name: string; url: string; pid: number; key: string }
async function gateway(name: string, { root, env }: { root: string; env: Record<string, string> }): Promise<Side> {
  const master = `ab-master-${crypto.randomUUID()}`
  const config = join(dir, `${name}.yaml`)
  writeFileSync(config, JSON.stringify({
    providers: { mock: { type: 'openai', base_url: `${mockUrl}/v1`, api_key: 'sk-bench-upstream' } },
    pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } },
  }))
  const log = join(dir, `${name}.log`)
  const proc = Bun.spawn([BUN, join(root, 'src/index.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: master, TOLLGATE_PORT: '0', TOLLGATE_DB: join(dir, `${name}.db`), TOLLGATE_CONFIG: config, TOLLGATE_RATE_LIMIT_PER_MIN: '60000000', ...env },
    stdout: Bun.file(log),
    stderr: 'inherit',
  })
  children.push(proc)
  const url = await startedLoggingTo(proc, log, /listening on (http:\/\/\S+)/)
  const post = async (path: string, body: unknown) =>
    (await (await fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { key?: string }
  await post('/v1/users', { id: 'bench', max_budget: 1_000_000 })
  return { name, url, pid: proc.pid, key: (await post('/v1/keys', { user_id: 'bench' })).key! }
}

const sides = [await gateway('old', oldSide), await gateway('new', newSide)]
const line = 'Read the file, change what the task asks, and run the tests again before you answer "done".\n'
const messages = agentBody
  ? Array.from({ length: 40 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `${line.repeat(14)}{"path": "src/app.ts", "lines": [1, 2, 3]}` }))
  : [{ role: 'user', content: 'Write one short sentence about toll gates.' }]
const tools = agentBody
  ? Array.from({ length: 24 }, (_, i) => ({
      type: 'function',
      function: {
        name: `tool_${i}`,
        description: line.repeat(22),
        parameters: { type: 'object', properties: { path: { type: 'string', description: 'A path, e.g. "C:\\\\dir\\\\file"' }, limit: { type: 'integer' } }, required: ['path'] },
      },
    }))
  : undefined

/** `n` requests, 16 at a time; returns the gateway's CPU ms per request over them. */
async function batch(side: Side, stream: boolean, n: number): Promise<number> {
  const body = JSON.stringify({ model: 'mock:gpt-mock', messages, tools, max_tokens: 64, stream })
  const before = cpuMs(side.pid)
  let next = 0
  const worker = async () => {
    while (next++ < n) {
      const res = await fetch(`${side.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${side.key}`, 'content-type': 'application/json' }, body })
      if (res.status !== 200) throw new Error(`${side.name}: ${res.status} ${await res.text()}`)
      await res.arrayBuffer()
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  return (cpuMs(side.pid) - before) / n
}

const load = () => (require('node:fs').readFileSync('/proc/loadavg', 'utf8') as string).split(' ').slice(0, 3).join(' ')
console.log(`gateway CPU per request, ${rounds} alternating rounds of ${perBatch} requests (16 at a time${agentBody ? ", a coding agent's body" : ''}); load ${load()}`)
for (const stream of [false, true]) {
  for (const s of sides) await batch(s, stream, 300) // warm the JIT
  const samples: Record<string, number[]> = { old: [], new: [] }
  for (let r = 0; r < rounds; r++) for (const s of r % 2 ? [...sides].reverse() : sides) samples[s.name]!.push(await batch(s, stream, perBatch))
  const [o, n] = [median(samples.old!), median(samples.new!)]
  console.log(`${stream ? 'chat SSE ' : 'chat JSON'}: old ${(o * 1000).toFixed(0)} µs, new ${(n * 1000).toFixed(0)} µs per request (${(((n - o) / o) * 100).toFixed(1)}%); ` +
    `samples old [${samples.old!.map((x) => (x * 1000).toFixed(0)).join(', ')}] new [${samples.new!.map((x) => (x * 1000).toFixed(0)).join(', ')}]`)
}
console.log(`peak RSS: old ${peakRssMb(sides[0]!.pid).toFixed(1)} MB, new ${peakRssMb(sides[1]!.pid).toFixed(1)} MB; load ${load()}`)
process.exit(0)
