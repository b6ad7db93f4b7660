/**
 * The floor under the gateway's figures: the mock called directly and through the least a Bun proxy can
 * do (bench/floor-proxy.ts: parse, `fetch`, pass through; no governance), side by side as bench/run.ts
 * measures tollgate. What this proxy loses against "direct" no gateway on this runtime and harness can
 * win back; bench/README.md reads the gateway's figures against it.
 *
 *   bun bench/floor.ts [seconds per run] [repeats]
 */
import { join } from 'node:path'
import { started } from './children'
import { cpuMs, median, peakRssMb, timeToFirstEvent, wrk, type Target } from './wrk'

const seconds = Number(process.argv[2] ?? 4)
const repeats = Number(process.argv[3] ?? 3)
const ROOT = join(import.meta.dir, '..')
const BUN = process.execPath

const children: Array<{ kill(signal?: number | NodeJS.Signals): void }> = []
process.on('exit', () => children.forEach((c) => c.kill('SIGTERM')))

const mock = Bun.spawn([BUN, join(ROOT, 'test/support/mock-provider.ts'), '--port', '0', '--chunks', '20'], { stdout: 'pipe', stderr: 'inherit' })
children.push(mock)
const mockUrl = await started(mock, /listening on (http:\/\/\S+)/)
const proxy = Bun.spawn([BUN, join(import.meta.dir, 'floor-proxy.ts'), mockUrl], { stdout: 'pipe', stderr: 'inherit' })
children.push(proxy)
const proxyUrl = await started(proxy, /listening on (http:\/\/\S+)/)

const body = (stream: boolean) =>
  JSON.stringify({ model: 'gpt-mock', messages: [{ role: 'user', content: 'Write one short sentence about toll gates.' }], max_tokens: 64, stream })
const target = (url: string, stream: boolean): Target => ({ url: `${url}/v1/chat/completions`, key: 'sk-bench-upstream', body: body(stream) })

await wrk(target(mockUrl, false), 8, 1)
await wrk(target(proxyUrl, false), 8, 1)

const rows: string[] = []
for (const stream of [false, true]) {
  for (const connections of [1, 64]) {
    const direct = []
    const via = []
    const cpu = []
    for (let r = 0; r < repeats; r++) {
      direct.push(await wrk(target(mockUrl, stream), connections, seconds))
      const before = cpuMs(proxy.pid)
      const p = await wrk(target(proxyUrl, stream), connections, seconds)
      cpu.push((cpuMs(proxy.pid) - before) / p.requests)
      via.push(p)
    }
    const d = { rps: median(direct.map((x) => x.rps)), p50: median(direct.map((x) => x.p50)) }
    const p = { rps: median(via.map((x) => x.rps)), p50: median(via.map((x) => x.p50)) }
    const errors = [...direct, ...via].reduce((a, x) => a + x.errors, 0)
    rows.push(
      `| chat ${stream ? 'SSE ' : 'JSON'} | ${String(connections).padStart(2)} | ${d.rps.toFixed(0)} | ${p.rps.toFixed(0)} | **${(p.rps / d.rps).toFixed(2)}×** | **+${(p.p50 - d.p50).toFixed(2)}** | ${(median(cpu) * 1000).toFixed(0)} | ${errors} |`,
    )
  }
}

const ttfeDirect: number[] = []
const ttfeProxy: number[] = []
for (let r = 0; r < repeats; r++) {
  ttfeDirect.push(await timeToFirstEvent(target(mockUrl, true), 200))
  ttfeProxy.push(await timeToFirstEvent(target(proxyUrl, true), 200))
}

console.log(`
floor — ${new Date().toISOString()}, ${seconds}s per run, ${repeats} alternating repeats, medians; bun ${Bun.version}, ${navigator.hardwareConcurrency} cores
the mock directly, and through a bare Bun proxy (parse, fetch, pass through; no governance)

| scenario | conc. | direct req/s | proxy req/s | ratio | added p50 ms | proxy CPU µs/req | errors |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

time to first stream event, concurrency 1 (median of ${repeats}×200): direct ${median(ttfeDirect).toFixed(3)} ms, proxy ${median(ttfeProxy).toFixed(3)} ms, added ${(median(ttfeProxy) - median(ttfeDirect)).toFixed(3)} ms
peak RSS of the proxy over the runs: ${peakRssMb(proxy.pid).toFixed(1)} MB (what Bun itself takes under this load, beside the gateway's)
`)

proxy.kill('SIGTERM')
mock.kill('SIGTERM')
await Promise.all([proxy.exited, mock.exited])
