/**
 * The SSE parser alone (src/translate/sse.ts), two checkouts alternating in one process so both see the
 * same machine; the process's CPU time, medians of the rounds:
 *
 *   bun bench/sse-parse.ts <old checkout> <new checkout> [responses per round] [rounds]
 *
 * The hot path is a stream of small events: the mock's 20-chunk chat answer (23 events, ~4.6 kB), read
 *   - event by event (a provider flushes each event, and each arrives as its own read),
 *   - whole (many events in one read: a reader that fell behind),
 *   - in 100-byte reads that cut events anywhere (a partial event waits at almost every read),
 * and, a few times, a long event: 4 MB of base64 (a Responses image) in 16 KB reads, which was quadratic.
 */
import { join } from 'node:path'
import { median } from './wrk'

const roots = [process.argv[2]!, process.argv[3]!]
const perRound = Number(process.argv[4] ?? 20_000)
const rounds = Number(process.argv[5] ?? 8)

interface Parser {
  push(bytes: Uint8Array): Array<{ data: string }>
  end(): Array<{ data: string }>
}
const parsers: Array<new () => Parser> = []
for (const root of roots) parsers.push((await import(join(root, 'src/translate/sse.ts'))).SseParser)

const enc = new TextEncoder()
const id = 'chatcmpl-bench'
const event = (choices: unknown[], usage: unknown = null) =>
  `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1764600000, model: 'gpt-mock', choices, usage })}\n\n`
const choice = (delta: unknown, finish_reason: string | null = null) => [{ index: 0, delta, logprobs: null, finish_reason }]
const words = 'Toll gates once stood on every road into town, and the keeper wrote down who passed and what they paid.'.split(' ')
const events = [event(choice({ role: 'assistant', content: '' })), ...words.slice(0, 20).map((w) => event(choice({ content: `${w} ` })))]
events.push(event(choice({}, 'stop')), event([], { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 }), 'data: [DONE]\n\n')
const answer = enc.encode(events.join(''))
const cut = (bytes: Uint8Array, size: number) => Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size))
const long = enc.encode(`event: response.output_item.done\ndata: {"item":{"result":"${'QUJD'.repeat(1 << 20)}"}}\n\n`)

const shapes = [
  { name: 'event by event', reads: events.map((e) => enc.encode(e)), per: perRound },
  { name: 'whole answer in one read', reads: [answer], per: perRound },
  { name: '100-byte reads', reads: cut(answer, 100), per: perRound },
  { name: '4 MB event, 16 KB reads', reads: cut(long, 16 * 1024), per: 1 },
]

function parseAll(Parser: new () => Parser, reads: Uint8Array[]) {
  const parser = new Parser()
  let n = 0
  for (const read of reads) n += parser.push(read).length
  return n + parser.end().length
}

for (const shape of shapes) {
  const counts = parsers.map((P) => parseAll(P, shape.reads))
  if (counts[0] !== counts[1]) throw new Error(`${shape.name}: ${counts[0]} events from the old parser, ${counts[1]} from the new`)
  const times: number[][] = roots.map(() => [])
  for (let round = 0; round < rounds; round++)
    for (let j = 0; j < parsers.length; j++) {
      // Alternate which checkout goes first, so neither always runs on a warmer (or colder) machine.
      const i = round % 2 === 0 ? j : parsers.length - 1 - j
      const start = process.cpuUsage()
      for (let n = 0; n < shape.per; n++) parseAll(parsers[i]!, shape.reads)
      const used = process.cpuUsage(start)
      times[i]!.push((used.user + used.system) / shape.per)
    }
  const [old, now] = times.map(median) as [number, number]
  console.log(
    `${shape.name.padEnd(26)} (${shape.reads.length} reads, ${counts[0]} events): old ${old.toFixed(2)} µs, new ${now.toFixed(2)} µs, new/old ${(now / old).toFixed(3)}`,
  )
}
