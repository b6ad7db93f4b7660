/**
 * What the bench scripts share: running wrk against a target and reading its figures, a process's CPU
 * time and peak RSS from /proc, and medians.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Target {
  url: string
  key: string
  /** The JSON body wrk POSTs (bench/post.lua). */
  body: string
}

export interface WrkResult {
  rps: number
  p50: number
  p99: number
  requests: number
  errors: number
}

const toMs = (v: string) => {
  const m = /([\d.]+)(us|ms|s)/.exec(v)
  if (!m) throw new Error(`unparsable wrk latency: ${v}`)
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1)
}

/** wrk for `seconds` at `connections` (2 threads, 1 for a single connection); errors = non-2xx + socket errors. */
export async function wrk(t: Target, connections: number, seconds: number): Promise<WrkResult> {
  const threads = Math.min(2, connections)
  const proc = Bun.spawn(['wrk', `-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', '-s', join(import.meta.dir, 'post.lua'), t.url], {
    env: { ...process.env, BENCH_BODY: t.body, BENCH_KEY: t.key }, stdout: 'pipe', stderr: 'pipe',
  })
  const out = await new Response(proc.stdout).text()
  await proc.exited
  if (!/Requests\/sec/.test(out) || !/50%/.test(out)) throw new Error(`wrk gave no figures for ${t.url}:\n${out}\n${await new Response(proc.stderr).text()}`)
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
  const socketErrors = /Socket errors: (.*)/.exec(out)?.[1]
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]),
    p50: toMs(/^\s+50%\s+(\S+)/m.exec(out)![1]!),
    p99: toMs(/^\s+99%\s+(\S+)/m.exec(out)![1]!),
    requests: Number(/(\d+) requests in/.exec(out)![1]),
    errors: non2xx + (socketErrors ? socketErrors.match(/\d+/g)!.map(Number).reduce((a, b) => a + b, 0) : 0),
  }
}

/** CPU time (user + system) of a process in milliseconds, from /proc (clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

export const peakRssMb = (pid: number) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** Milliseconds from sending a streaming request to reading its first event, median of `n` in a row. */
export async function timeToFirstEvent(t: Target, n: number): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    const res = await fetch(t.url, { method: 'POST', headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' }, body: t.body })
    const reader = res.body!.getReader()
    await reader.read()
    samples.push(performance.now() - start)
    while (!(await reader.read()).done);
  }
  return median(samples)
}
