/**
 * What the case check of inference bodies (src/http/case-variant-keys.ts) costs beside the JSON parse every body
 * already pays, on three bodies: the A/B bench's small chat, a coding agent's Messages turn (30 tools with schemas,
 * 120 messages of tool calls and results, ~300 KB) and a Responses turn of 200 items. Also timed, for the choice of
 * depth: the same check run on every object of the body (for keys two of which Go would take for one another).
 *
 *   bun bench/key-case.ts [rounds] [iterations]
 */
import { refuseCaseVariantKeys } from '../src/http/case-variant-keys'

const rounds = Number(process.argv[2] ?? 7)
const iterations = Number(process.argv[3] ?? 200)

const schema = (i: number) => ({
  type: 'object',
  properties: Object.fromEntries(
    Array.from({ length: 12 }, (_, p) => [`field_${i}_${p}`, { type: 'string', description: `What field ${p} of tool ${i} holds, in a sentence or two of prose.` }]),
  ),
  required: [`field_${i}_0`],
  additionalProperties: false,
})

const small = { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'Write one short sentence about toll gates.' }], max_tokens: 64, stream: false }

const agent = {
  model: 'ant:claude',
  max_tokens: 32000,
  stream: true,
  system: [{ type: 'text', text: 'You are a coding agent. '.repeat(400), cache_control: { type: 'ephemeral' } }],
  tools: Array.from({ length: 30 }, (_, i) => ({ name: `tool_${i}`, description: 'Does one thing to the repository. '.repeat(10), input_schema: schema(i) })),
  messages: Array.from({ length: 120 }, (_, i) =>
    i % 2 === 0
      ? { role: 'assistant', content: [{ type: 'text', text: 'Let me look at that file.' }, { type: 'tool_use', id: `toolu_${i}`, name: `tool_${i % 30}`, input: { path: `src/file_${i}.ts`, line: i } }] }
      : { role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${i - 1}`, content: [{ type: 'text', text: 'export const x = 1\n'.repeat(120) }] }] },
  ),
  metadata: { user_id: 'session-0123' },
}

const responses = {
  model: 'plain:m',
  store: false,
  instructions: 'You are Codex. '.repeat(300),
  tools: Array.from({ length: 10 }, (_, i) => ({ type: 'function', name: `fn_${i}`, parameters: schema(i), strict: true })),
  input: Array.from({ length: 200 }, (_, i) =>
    i % 3 === 0
      ? { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Please fix the failing test. '.repeat(10) }] }
      : i % 3 === 1
        ? { type: 'function_call', call_id: `call_${i}`, name: 'shell', arguments: JSON.stringify({ command: ['bash', '-lc', 'npm test'] }) }
        : { type: 'function_call_output', call_id: `call_${i - 1}`, output: 'ok\n'.repeat(300) },
  ),
}

/**
 * The alternative measured: every object of the body checked for two keys Go would take for one another (not for
 * capitals: JSON Schema's own keywords have them, `additionalProperties`). A key without capitals or non-ASCII is
 * its own fold; only an object with another one folds its keys, here as ASCII does.
 */
function everyObject(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) everyObject(item)
    return
  }
  if (typeof value !== 'object' || value === null) return
  const keys = Object.keys(value)
  if (keys.some((key) => /[^\0-@[-\x7f]/.test(key))) {
    const folds = new Set(keys.map((key) => key.toLowerCase()))
    if (folds.size < keys.length) throw new Error('two keys of one fold')
  }
  for (const key of keys) everyObject((value as Record<string, unknown>)[key])
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

function timed(run: () => void): number {
  const samples: number[] = []
  for (let r = 0; r < rounds; r++) {
    const start = performance.now()
    for (let i = 0; i < iterations; i++) run()
    samples.push(((performance.now() - start) * 1000) / iterations)
  }
  return median(samples)
}

console.log(`µs per body, median of ${rounds} rounds of ${iterations}`)
console.log('| body | bytes | objects | JSON.parse | case check (structural) | every object |')
console.log('|---|---|---|---|---|---|')
for (const [name, body] of Object.entries({ small, agent, responses })) {
  const text = JSON.stringify(body)
  const parsed = JSON.parse(text)
  let objects = 0
  const count = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(count)
    if (typeof v === 'object' && v !== null) {
      objects++
      Object.values(v).forEach(count)
    }
  }
  count(parsed)
  const parse = timed(() => JSON.parse(text))
  const structural = timed(() => refuseCaseVariantKeys(parsed))
  const deep = timed(() => everyObject(parsed))
  console.log(`| ${name} | ${text.length} | ${objects} | ${parse.toFixed(2)} | ${structural.toFixed(2)} | ${deep.toFixed(2)} |`)
}
