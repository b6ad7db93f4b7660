/**
 * The stream meter alone, in a tight loop: µs per metered stream of the mock's 20-chunk chat answer (23
 * events, usage on every chunk as OpenAI sends it with `include_usage`), read to its end; the process's CPU
 * time, which other processes on the machine inflate less than the wall clock. Two checkouts
 * alternate in one process, so both see the same machine. `--translated`: the same answer metered and converted
 * for a Responses client (responsesViaChat's stream), read to its end:
 *
 *   bun bench/meter.ts <old checkout> <new checkout> [streams per round] [rounds] [--translated]
 */
import { join } from 'node:path'
import { median } from './wrk'

const translated = process.argv.includes('--translated')
const args = process.argv.filter((arg) => arg !== '--translated')
const roots = [args[2]!, args[3]!]
const perRound = Number(args[4] ?? 20_000)
const rounds = Number(args[5] ?? 6)

const id = 'chatcmpl-bench'
const event = (choices: unknown[], usage: unknown = null) =>
  `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1764600000, model: 'gpt-mock', choices, usage })}\n\n`
const choice = (delta: unknown, finish_reason: string | null = null) => [{ index: 0, delta, logprobs: null, finish_reason }]
const words = 'Toll gates once stood on every road into town, and the keeper wrote down who passed and what they paid.'.split(' ')
const events = [event(choice({ role: 'assistant', content: '' })), ...words.slice(0, 20).map((w) => event(choice({ content: `${w} ` })))]
events.push(event(choice({}, 'stop')), event([], { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 }), 'data: [DONE]\n\n')
const chunks = events.map((e) => new TextEncoder().encode(e))

type Meter = (upstream: ReadableStream<Uint8Array>, o: any) => ReadableStream<unknown>
const meters: Meter[] = []
const signals: Array<(ms: number) => unknown> = []
for (const root of roots) {
  const metering = await import(join(root, 'src/metering/openai-stream.ts'))
  signals.push((await import(join(root, 'src/providers/upstream.ts'))).upstreamSignal)
  if (!translated) {
    meters.push(metering.meterOpenAIStream)
    continue
  }
  const { convertStream } = await import(join(root, 'src/translate/convert-stream.ts'))
  const { ChunksToResponseEvents } = await import(join(root, 'src/translate/responses/chunks-to-response-events.ts'))
  const { meterEvents } = await import(join(root, 'src/metering/metered-stream.ts'))
  // A checkout before the meter handed a converter its events gave it the client's bytes to parse again.
  const metered = metering.openAIMeter ? (upstream: ReadableStream<Uint8Array>, o: any) => meterEvents(upstream, metering.openAIMeter(o), o) : metering.meterOpenAIStream
  meters.push((upstream, o) => convertStream(metered(upstream, o), new ChunksToResponseEvents({})))
}

async function one(meter: Meter, signal: (ms: number) => unknown) {
  const upstream = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk)
      c.close()
    },
  })
  let bytes = 0
  const reader = meter(upstream, { passUsage: translated, idleTimeoutMs: 60_000, signal: signal(60_000), onEnd: (f: { deliveredOutputBytes: number }) => (bytes = f.deliveredOutputBytes) }).getReader()
  while (!(await reader.read()).done);
  return bytes
}

const times: number[][] = roots.map(() => [])
for (let round = 0; round < rounds; round++)
  for (let i = 0; i < roots.length; i++) {
    const start = process.cpuUsage()
    for (let n = 0; n < perRound; n++) await one(meters[i]!, signals[i]!)
    const used = process.cpuUsage(start)
    times[i]!.push((used.user + used.system) / perRound)
  }
for (let i = 0; i < roots.length; i++)
  console.log(`${roots[i]}: median ${median(times[i]!).toFixed(2)} µs of CPU per stream (rounds: ${times[i]!.map((t) => t.toFixed(1)).join(', ')}); delivered ${await one(meters[i]!, signals[i]!)} bytes`)
