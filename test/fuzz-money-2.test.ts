/**
 * Money-path fuzz, second part (today's surfaces), beside test/fuzz-money.test.ts (whose oracle it follows; that
 * file is a test and exports nothing, so its price arithmetic and SSE reading are restated here).
 *
 * Requests: Anthropic /v1/messages streams and JSON answers with cached prompts (5-minute and 1-hour writes), a
 * priced web search the provider may run (server_tool_use and web_search_tool_result blocks), thinking; OpenAI
 * /v1/responses with function tools offered in input items (`additional_tools`, `tool_search_output`), input_audio
 * parts (in a message and in a tool's output), continued by `previous_response_id` on the native models; the
 * translations chat→Anthropic, Responses→Anthropic and Responses→chat; chat with tool calls and results; everywhere
 * random JSON in tool arguments, schemas and results (deep nesting, control characters, U+2028, odd keys).
 *
 * The provider is compliant: the input it states is at most what its request could bill (the UTF-8 bytes of what it
 * read, escaped as a template writes them, tool JSON whole, plus 3 a message), split into cache reads and writes
 * as the request allows; its output at most the max it was sent. By mode it finishes (`full`), the client cuts the
 * stream at a random event (`client-cut`: the provider holds the rest until the client left), the provider cuts
 * the connection at a random event (`provider-cut`), or refuses with a 5xx or Anthropic's 529 and a Retry-After.
 *
 * Oracle (cap-output on): hold ≥ charge; full answers charged price × usage (web searches at $0.01); a client-cut
 * Anthropic stream pays at least the input its message_start stated and, when no server tool ran before the cut,
 * at most that input plus every byte the provider sent as output; a refusal costs 0 and passes its Retry-After on;
 * one usage row per request that reached the provider; never a 500; at the end reserved 0 and spend = Σ cost.
 *
 * FUZZ_SEED=<n>, FUZZ_ONLY=<id,…>, FUZZ_TRACE=1 as in fuzz-money; FUZZ_CASES and FUZZ_BUDGET_MS (default 400 cases
 * within 20 s). Stored answers whose context holds audio are continued too (responses-audio-in-stored-context.test.ts:
 * such a continuation was held at the text rate).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { scriptedProviders, type ScriptedCall } from './support/scripted-upstream'
import { seededRandom } from './support/seeded'

const SEED = Number(process.env.FUZZ_SEED ?? 1)
const CASES = Number(process.env.FUZZ_CASES ?? 400)
const CONCURRENCY = 6
const RUN_BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 20_000)
const TRACE = process.env.FUZZ_TRACE === '1'
const ONLY = process.env.FUZZ_ONLY ? new Set(process.env.FUZZ_ONLY.split(',').map(Number)) : null

let next = seededRandom(SEED)
const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1))
const chance = (p: number) => next() < p
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8')
type Json = Record<string, any>

// µ$ per token: 3 input, 0.3 cache read, 3.75 cache write (6 an hour's), 15 output; 40 audio input; a web search 10,000.
const PRICE = { input_per_million: 3, output_per_million: 15, cached_input_per_million: 0.3, cache_write_per_million: 3.75 }
const SEARCH_MICROS = 10_000
const AUDIO_RATE = 40
const DEFAULT_MAX = 200
const IMAGE_TOKENS = 765
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='
const WORDS = ['hello', 'world', 'é', '你好', '😀', '👨‍👩‍👧', 'Ωμέγα', 'x', '"q"', 'a\\b', 'tab\there', 'new\nline', '\u0000', '\u0001\u001f', '\u2028', '\u007f']
const text = () => Array.from({ length: int(1, 10) }, () => pick(WORDS)).join(' ')
const OUT_PIECES = [' a', ' hello', '你', '好', ' 😀', ' é', ' world', 'テ', ' ok']

/** A random JSON value: deep nesting, control characters, odd keys. */
function randomJson(depth = 0): unknown {
  const r = next()
  if (depth > 2 && r < 0.15 && chance(0.3)) {
    // a deep chain
    let v: unknown = text()
    for (let i = int(5, 60); i > 0; i--) v = chance(0.5) ? [v] : { [pick(['a', '__proto__', 'constructor', '\u0000k', 'é', ''])]: v }
    return v
  }
  if (depth > 4 || r < 0.35) return pick<unknown>([text(), int(-1e6, 1e6), 1.5e300, -0, true, false, null, '', '\\u0000', '\u0000\u0001'])
  if (r < 0.65) return Array.from({ length: int(0, 4) }, () => randomJson(depth + 1))
  return Object.fromEntries(Array.from({ length: int(0, 4) }, () => [pick(['city', 'q', '__proto__', 'toString', 'a b', '\u0001', '😀', 'x'.repeat(int(1, 5))]), randomJson(depth + 1)]))
}
const schema = (): Json => ({ type: 'object', properties: { city: { type: 'string', description: text() }, extra: { description: JSON.stringify(randomJson()).slice(0, 300) } } })

type Route = 'messages' | 'responses' | 'chat'
type Mode = 'full' | 'client-cut' | 'provider-cut' | 'refused'

interface Sent {
  input: number
  audio: number
  cached: number
  write: number
  write1h: number
  output: number
  searches: number
  /** Upstream events sent before the hold-back (client-cut), and the bytes of them. */
  headBytes: number
  serverToolInHead: boolean
  stated: boolean
  /** The input message_start stated (Anthropic streams), before any growth. */
  statedInput: number
}

interface Plan {
  mode: Mode
  cutAt: number
  frac: number
  inputFrac: number
  growth: number
  cacheRead: number
  cacheWrite: number
  thinking: boolean
  search: boolean
  status: number
  retryAfter: string
  release?: () => void
  released?: Promise<void>
  calls: Sent[]
}

interface Case {
  id: number
  route: Route
  model: string
  body: Json
  stream: boolean
  plan: Plan
  label: string
}

/** Stored native Responses answers a later case may continue. */
const chainable: Array<{ model: string; id: string; audio: boolean }> = []
/** The provider's stored responses: id → the tokens (and audio tokens among them) a continuation reads again. */
const upstreamStore = new Map<string, { tokens: number; audio: number }>()

const marker = (id: number) => `[fb${SEED}#${id}]`

function messagesBody(id: number): Json {
  const messages: Json[] = []
  for (let t = int(0, 2); t > 0; t--) {
    messages.push({ role: 'user', content: text() })
    const toolId = `toolu_${id}_${t}`
    messages.push({ role: 'assistant', content: [{ type: 'text', text: text() }, { type: 'tool_use', id: toolId, name: 'get_weather', input: chance(0.5) ? { city: text() } : { city: 'x', v: randomJson() } }] })
    const result = chance(0.5) ? JSON.stringify(randomJson()) : [{ type: 'text', text: JSON.stringify(randomJson()) }]
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: toolId, content: result, ...(chance(0.2) ? { is_error: true } : {}) }] })
    messages.push({ role: 'assistant', content: text() })
  }
  const content: Json[] = [{ type: 'text', text: `${marker(id)} ${text()}` }]
  if (chance(0.2)) content.push({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } })
  messages.push({ role: 'user', content })
  const b: Json = { model: 'ant:m', max_tokens: int(1, 300), messages }
  const cc = () => (chance(0.5) ? { cache_control: { type: 'ephemeral' } } : { cache_control: { type: 'ephemeral', ttl: '1h' } })
  if (chance(0.7)) b.system = [{ type: 'text', text: text().repeat(int(1, 40)), ...(chance(0.7) ? cc() : {}) }]
  const tools: Json[] = [{ name: 'get_weather', description: text(), input_schema: schema() }]
  if (chance(0.4)) tools.push({ type: 'web_search_20250305', name: 'web_search', max_uses: int(1, 3) })
  b.tools = tools
  if (chance(0.5)) b.stream = true
  return b
}

const AUDIO = () => 'UklGR'.padEnd(int(10, 3000), 'A')

function responsesBody(id: number, model: string): Json {
  const audio = model === 'audio:m'
  const items: Json[] = []
  const fn = () => ({ type: 'function', name: pick(['get_weather', 'lookup', 'f_' + int(0, 9)]), description: text(), parameters: schema() })
  // Tools in input items: the native provider's only (a translation refuses those items).
  const where = model === 'ant:m' || model === 'rchat:m' ? 0 : int(0, 2)
  if (where === 1) items.push({ type: 'additional_tools', role: 'developer', tools: [fn(), ...(chance(0.3) ? [fn()] : [])] })
  if (where === 2) {
    items.push({ role: 'user', content: text() })
    items.push({ type: 'tool_search_call', call_id: `ts_${id}`, execution: 'client', status: 'completed', arguments: randomJson() ?? {} })
    items.push({ type: 'tool_search_output', call_id: `ts_${id}`, execution: 'client', status: 'completed', tools: [fn()] })
  }
  if (chance(0.6)) {
    const callId = `call_${id}`
    items.push({ role: 'user', content: text() })
    items.push({ type: 'function_call', call_id: callId, name: 'get_weather', arguments: JSON.stringify(randomJson()) })
    items.push({ type: 'function_call_output', call_id: callId, output: audio && chance(0.4) ? [{ type: 'input_audio', input_audio: { data: AUDIO(), format: 'wav' } }] : JSON.stringify(randomJson()) })
  }
  const parts: Json[] = [{ type: 'input_text', text: `${marker(id)} ${text()}` }]
  if (audio && chance(0.7)) parts.push({ type: 'input_audio', input_audio: { data: AUDIO(), format: pick(['wav', 'mp3']) } })
  items.push({ role: 'user', content: parts })
  const b: Json = { model, store: chance(0.5), input: items }
  // A translated target keeps no state: ant:m is sent store: false.
  if (b.model === 'ant:m') b.store = false
  if (chance(0.5)) b.tools = [fn()]
  if (chance(0.4)) b.instructions = text()
  if (chance(0.6)) b.max_output_tokens = int(16, 300)
  if (chance(0.5)) b.stream = true
  return b
}

function chatBody(id: number): Json {
  const messages: Json[] = [{ role: 'system', content: text() }]
  for (let t = int(0, 2); t > 0; t--) {
    const callId = `call_${id}_${t}`
    messages.push({ role: 'user', content: text() })
    messages.push({ role: 'assistant', content: null, tool_calls: [{ id: callId, type: 'function', function: { name: 'get_weather', arguments: JSON.stringify(randomJson()) } }] })
    messages.push({ role: 'tool', tool_call_id: callId, content: chance(0.5) ? JSON.stringify(randomJson()) : [{ type: 'text', text: JSON.stringify(randomJson()) }] })
  }
  messages.push({ role: 'user', content: `${marker(id)} ${text()}` })
  const b: Json = { model: pick(['plain:m', 'ant:m']), messages, tools: [{ type: 'function', function: { name: 'get_weather', description: text(), parameters: schema() } }] }
  if (chance(0.5)) b.max_tokens = int(1, 300)
  if (chance(0.5)) {
    b.stream = true
    b.stream_options = { include_usage: true }
  }
  return b
}

function generate(id: number): Case {
  next = seededRandom((SEED ^ Math.imul(id + 7, 0x9e3779b1)) >>> 0)
  const r = next()
  let route: Route
  let body: Json
  if (r < 0.55) {
    route = 'messages'
    body = messagesBody(id)
  } else if (r < 0.85) {
    route = 'responses'
    body = responsesBody(id, pick(['plain:m', 'audio:m', 'ant:m', 'rchat:m']))
    // Continued (`previous_response_id`) on the native models: a stored answer of the same model, audio in its context or not.
    const parents = chainable.filter((p) => p.model === body.model)
    if (parents.length > 0 && chance(0.3)) body.previous_response_id = pick(parents).id
  } else {
    route = 'chat'
    body = chatBody(id)
  }
  const stream = body.stream === true
  const mode: Mode = pick(stream ? ['full', 'full', 'client-cut', 'client-cut', 'client-cut', 'provider-cut', 'refused'] : ['full', 'full', 'full', 'refused'])
  const plan: Plan = {
    mode, cutAt: int(0, 14), inputFrac: pick([1, 1, 0.3, next()]), growth: next(), frac: pick([0.1, 0.5, 1, next()]), cacheRead: next(), cacheWrite: next(), thinking: chance(0.3), search: chance(0.7),
    status: route === 'messages' ? pick([500, 502, 503, 529, 529]) : pick([500, 502, 503]),
    retryAfter: pick(['1', '7', '30', '0.5', '']), calls: [],
  }
  if (mode === 'client-cut') plan.released = new Promise<void>((res) => (plan.release = res))
  return { id, route, model: body.model, body, stream, plan, label: `${route}${stream ? '/sse' : '/json'} ${body.model}${body.previous_response_id ? ' chained' : ''} mode=${mode}` }
}

// ---------------------------------------------------------------------------------------------------
// The compliant upstream

const SKIP_KEYS = new Set(['role', 'type', 'model', 'id', 'call_id', 'tool_call_id', 'tool_use_id', 'media_type', 'detail', 'status', 'cache_control', 'format', 'execution'])
function receivedInput(body: Json): { input: number; audio: number } {
  let bytes = 0
  let images = 0
  let audio = 0
  const walk = (v: unknown, key: string) => {
    if (typeof v === 'string') {
      if (key === 'data' && v.startsWith('UklGR')) audio += v.length
      else if (v.startsWith('data:') || key === 'data') images++
      else if (!SKIP_KEYS.has(key)) bytes += utf8(JSON.stringify(v)) - 2
    } else if (key === 'input' || key === 'input_schema' || key === 'parameters' || key === 'arguments') bytes += utf8(JSON.stringify(v) ?? '')
    else if (Array.isArray(v)) for (const x of v) walk(x, key)
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k)
  }
  for (const f of ['messages', 'system', 'tools', 'instructions']) walk(body[f], f)
  if (typeof body.input === 'string') walk(body.input, 'text')
  else if (Array.isArray(body.input)) for (const item of body.input) walk(item, 'item')
  const messages = Array.isArray(body.messages) ? body.messages.length : Array.isArray(body.input) ? body.input.length : 1
  return { input: bytes + images * IMAGE_TOKENS + audio + 3 * messages, audio }
}

const plans = new Map<number, Plan>()
const markerRe = new RegExp(`\\[fb${SEED}#(\\d+)\\]`)
const enc = new TextEncoder()
const jsonRes = (b: unknown, status = 200, headers: Record<string, string> = {}) => new Response(JSON.stringify(b), { status, headers: { 'content-type': 'application/json', ...headers } })
const anEvent = (d: Json) => `event: ${d.type}\ndata: ${JSON.stringify(d)}\n\n`
const oaEvent = (d: unknown) => `data: ${typeof d === 'string' ? d : JSON.stringify(d)}\n\n`
const pieces6 = (t: string) => t.match(/.{1,6}/gsu) ?? []
const THINK_TEXT = 'Let me think… 考えます 🤔'
const THINK_TOKENS = 5
const SEARCH_TOKENS = 10
let pendingUpstream = 0

function answer(call: ScriptedCall): Response {
  const m = markerRe.exec(JSON.stringify(call.body))
  const plan = m ? plans.get(Number(m[1])) : undefined
  if (!plan) return jsonRes({ error: { message: 'no plan' } }, 500)
  const { path, body } = call
  const received = receivedInput(body)
  let audio = received.audio
  let input = audio + Math.max(1, Math.floor(plan.inputFrac * (received.input - audio)))
  if (path.endsWith('/responses') && body.previous_response_id != null) {
    const context = upstreamStore.get(body.previous_response_id)
    if (!context) return jsonRes({ error: { message: 'not found', type: 'invalid_request_error', code: 'previous_response_not_found' } }, 400)
    input += context.tokens
    audio += context.audio
  }
  const sent: Sent = { input, audio, cached: 0, write: 0, write1h: 0, output: 0, searches: 0, headBytes: 0, serverToolInHead: false, stated: false, statedInput: 0 }
  plan.calls.push(sent)
  if (plan.mode === 'refused') {
    const headers: Record<string, string> = plan.retryAfter ? { 'retry-after': plan.retryAfter } : {}
    return path.endsWith('/messages')
      ? jsonRes({ type: 'error', error: { type: plan.status === 529 ? 'overloaded_error' : 'api_error', message: 'Overloaded' } }, plan.status, headers)
      : jsonRes({ error: { message: 'upstream failure', type: 'server_error', code: null } }, plan.status, headers)
  }
  const max: number = (path.endsWith('/messages') ? body.max_tokens : path.endsWith('/responses') ? body.max_output_tokens : body.max_tokens ?? body.max_completion_tokens) ?? 50
  const thinking = plan.thinking && max >= THINK_TOKENS + 1
  const offersSearch = Array.isArray(body.tools) && body.tools.some((t: Json) => t.type === 'web_search_20250305')
  const search = plan.search && offersSearch && max >= (thinking ? THINK_TOKENS : 0) + SEARCH_TOKENS + 1
  const bound = max - (thinking ? THINK_TOKENS : 0) - (search ? SEARCH_TOKENS : 0)
  const k = Math.max(1, Math.min(bound, Math.floor(plan.frac * bound)))
  const t = Array.from({ length: k }, (_, j) => OUT_PIECES[(j * 7) % OUT_PIECES.length]).join('')
  const output = k + (thinking ? THINK_TOKENS : 0) + (search ? SEARCH_TOKENS : 0)
  sent.output = output
  sent.searches = search ? 1 : 0
  const stream = body.stream === true

  if (path.endsWith('/messages')) {
    const cached = Math.floor(plan.cacheRead * input)
    const asks = JSON.stringify(body).includes('cache_control')
    const write = asks ? Math.floor(plan.cacheWrite * (input - cached)) : 0
    const asks1h = JSON.stringify(body).includes('"ttl":"1h"')
    const asks5m = /"cache_control":\{"type":"ephemeral"\}/.test(JSON.stringify(body))
    const write1h = !asks1h ? 0 : asks5m ? Math.floor(plan.cacheRead * write) : write
    Object.assign(sent, { cached, write, write1h, statedInput: input })
    // A search's results are read by the pass after it: input the hold allows 20,000 tokens a use for.
    const grown = search ? Math.floor(plan.growth * 20_000) : 0
    const usage = {
      input_tokens: input - cached - write, output_tokens: output, cache_read_input_tokens: cached, cache_creation_input_tokens: write,
      cache_creation: { ephemeral_5m_input_tokens: write - write1h, ephemeral_1h_input_tokens: write1h },
      ...(search ? { server_tool_use: { web_search_requests: 1 } } : {}),
    }
    const searchUse = { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'weather' } }
    const searchResult = { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [{ type: 'web_search_result', url: 'https://e.x/', title: 'W', encrypted_content: 'QUJD'.repeat(int(1, 50)), page_age: null }] }
    const finalUsage = { ...usage, input_tokens: usage.input_tokens + grown }
    sent.input += grown
    if (!stream)
      return jsonRes({ id: 'msg_x', type: 'message', role: 'assistant', model: 'm', content: [...(thinking ? [{ type: 'thinking', thinking: THINK_TEXT, signature: 'c2ln' }] : []), ...(search ? [searchUse, searchResult] : []), { type: 'text', text: t }], stop_reason: 'end_turn', stop_sequence: null, usage: finalUsage })
    sent.stated = true
    const events = [anEvent({ type: 'message_start', message: { id: 'msg_x', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1, server_tool_use: undefined } } })]
    if (plan.cutAt === 0) events.unshift(': ping\n\n')
    let index = 0
    if (thinking) {
      events.push(anEvent({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } }), ...pieces6(THINK_TEXT).map((p) => anEvent({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: p } })), anEvent({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: 'c2ln' } }), anEvent({ type: 'content_block_stop', index }))
      index++
    }
    if (search) {
      events.push(anEvent({ type: 'content_block_start', index, content_block: { ...searchUse, input: {} } }), anEvent({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '{"query":"weather"}' } }), anEvent({ type: 'content_block_stop', index }))
      index++
      events.push(anEvent({ type: 'content_block_start', index, content_block: searchResult }), anEvent({ type: 'content_block_stop', index }))
      index++
    }
    events.push(anEvent({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } }), ...pieces6(t).map((p) => anEvent({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: p } })), anEvent({ type: 'content_block_stop', index }))
    events.push(anEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { ...(grown ? { input_tokens: finalUsage.input_tokens, cache_read_input_tokens: cached, cache_creation_input_tokens: write } : {}), output_tokens: output, ...(search ? { server_tool_use: { web_search_requests: 1 } } : {}) } }), anEvent({ type: 'message_stop' }))
    return streamed(plan, sent, events)
  }

  if (path.endsWith('/responses')) {
    const usage = { input_tokens: input, input_tokens_details: { cached_tokens: 0, ...(audio ? { audio_tokens: audio } : {}) }, output_tokens: output, output_tokens_details: { reasoning_tokens: thinking ? THINK_TOKENS : 0 }, total_tokens: input + output }
    const item = (s: string, status: string) => ({ id: 'msg_x', type: 'message', status, role: 'assistant', content: [{ type: 'output_text', text: s, annotations: [], logprobs: [] }] })
    const reasoning = { id: 'rs_x', type: 'reasoning', summary: [{ type: 'summary_text', text: THINK_TEXT }] }
    const respId = `resp_fb${SEED}_${m![1]}`
    if (body.store !== false && plan.mode === 'full') upstreamStore.set(respId, { tokens: input + output, audio })
    const resp = (status: string, output: Json[], u: unknown) => ({ id: respId, object: 'response', created_at: 1, status, model: 'm', output, usage: u, error: null, incomplete_details: null, tools: [], parallel_tool_calls: true, tool_choice: 'auto', text: { format: { type: 'text' } }, metadata: {}, store: false })
    const final = resp('completed', [...(thinking ? [reasoning] : []), item(t, 'completed')], usage)
    if (!stream) return jsonRes(final)
    let seq = 0
    const ev = (type: string, d: Json) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...d })}\n\n`
    const events = [ev('response.created', { response: resp('in_progress', [], null) })]
    if (thinking) events.push(ev('response.output_item.added', { output_index: 0, item: { ...reasoning, summary: [] } }), ev('response.output_item.done', { output_index: 0, item: reasoning }))
    const oi = thinking ? 1 : 0
    events.push(ev('response.output_item.added', { output_index: oi, item: { ...item('', 'in_progress'), content: [] } }), ...pieces6(t).map((p) => ev('response.output_text.delta', { item_id: 'msg_x', output_index: oi, content_index: 0, delta: p, logprobs: [] })))
    events.push(ev('response.output_text.done', { item_id: 'msg_x', output_index: oi, content_index: 0, text: t, logprobs: [] }), ev('response.output_item.done', { output_index: oi, item: item(t, 'completed') }), ev('response.completed', { response: final }))
    return streamed(plan, sent, events)
  }

  const usage = { prompt_tokens: input, completion_tokens: output, total_tokens: input + output, prompt_tokens_details: { cached_tokens: 0, ...(audio ? { audio_tokens: audio } : {}) } }
  if (!stream) return jsonRes({ id: 'chatcmpl-x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: t, refusal: null, ...(thinking ? { reasoning_content: THINK_TEXT } : {}) }, logprobs: null, finish_reason: 'stop' }], usage })
  const chunk = (choices: Json[], extra: Json = {}) => oaEvent({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'm', choices, ...extra })
  const events = [chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])]
  if (thinking) for (const p of pieces6(THINK_TEXT)) events.push(chunk([{ index: 0, delta: { reasoning_content: p }, finish_reason: null }]))
  for (const p of pieces6(t)) events.push(chunk([{ index: 0, delta: { content: p }, finish_reason: null }]))
  events.push(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]), chunk([], { usage }), oaEvent('[DONE]'))
  return streamed(plan, sent, events)
}

/** An SSE answer: whole; cut by the provider after `cutAt` events; or (client-cut) `cutAt` events, the rest once the client left. */
function streamed(plan: Plan, sent: Sent, events: string[]): Response {
  const at = Math.max(1, Math.min(plan.cutAt, events.length - 1))
  sent.stated = sent.stated && events.slice(0, at).some((e) => e.includes('message_start'))
  const head = plan.mode === 'full' ? events : events.slice(0, at)
  const rest = plan.mode === 'client-cut' ? events.slice(at) : []
  sent.headBytes = utf8(head.join(''))
  sent.serverToolInHead = head.some((e) => e.includes('"server_tool_use"') || e.includes('web_search_tool_result'))
  if (plan.mode === 'client-cut') pendingUpstream++
  return new Response(
    new ReadableStream<Uint8Array>({
      async start(c) {
        for (const e of head) c.enqueue(enc.encode(e))
        if (plan.mode === 'full') return c.close()
        if (plan.mode === 'provider-cut') {
          await Bun.sleep(20)
          return c.error(new Error('cut'))
        }
        await Promise.race([plan.released!, Bun.sleep(3_000)])
        await Bun.sleep(150)
        try {
          for (const e of rest) c.enqueue(enc.encode(e))
          c.close()
        } catch {
          // the gateway let go
        } finally {
          pendingUpstream--
        }
      },
      cancel() {},
    }),
    { headers: { 'content-type': 'text/event-stream' } },
  )
}

function startQuietUpstream(script: (call: ScriptedCall) => Response) {
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    development: false,
    error: () => new Response('upstream handler failed', { status: 500 }),
    async fetch(req) {
      const t = await req.text()
      return script({ path: new URL(req.url).pathname, body: t ? JSON.parse(t) : {} })
    },
  })
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) }
}

// ---------------------------------------------------------------------------------------------------
// The client

const PATHS: Record<Route, string> = { chat: '/v1/chat/completions', messages: '/v1/messages', responses: '/v1/responses' }

interface Got {
  status: number
  requestId: string | null
  headers: Headers | null
  raw: string
  /** Output text the client saw (text deltas). */
  seen: string
}

function seenText(route: Route, raw: string): string {
  let out = ''
  for (const block of raw.split('\n\n')) {
    const line = block.split('\n').find((l) => l.startsWith('data:'))
    if (!line) continue
    try {
      const d = JSON.parse(line.slice(5).trim())
      if (route === 'messages' && d.type === 'content_block_delta' && d.delta?.type === 'text_delta') out += d.delta.text
      if (route === 'responses' && d.type === 'response.output_text.delta') out += d.delta
      if (route === 'chat' && typeof d.choices?.[0]?.delta?.content === 'string') out += d.choices[0].delta.content
    } catch {}
  }
  return out
}

async function send(c: Case, url: string, secret: string): Promise<Got> {
  const abort = new AbortController()
  const res = await fetch(url + PATHS[c.route], {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(c.route === 'messages' ? { 'x-api-key': secret, 'anthropic-version': '2023-06-01' } : { authorization: `Bearer ${secret}` }) },
    body: JSON.stringify(c.body),
    signal: abort.signal,
  })
  const requestId = res.headers.get('x-request-id')
  if (c.plan.mode === 'client-cut' && res.status === 200 && c.stream) {
    // Read until the stream goes quiet (the provider holds the rest back), then leave.
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let raw = ''
    for (;;) {
      const r = await Promise.race([reader.read(), Bun.sleep(250).then(() => null)])
      if (!r || r.done) break
      raw += decoder.decode(r.value, { stream: true })
    }
    abort.abort()
    reader.cancel().catch(() => {})
    c.plan.release!()
    return { status: 200, requestId, headers: res.headers, raw, seen: seenText(c.route, raw) }
  }
  c.plan.release?.()
  const raw = await res.text().catch(() => '')
  return { status: res.status, requestId, headers: res.headers, raw, seen: c.stream ? seenText(c.route, raw) : '' }
}

// ---------------------------------------------------------------------------------------------------
// Oracle

const cost = (u: { input: number; audio?: number; cached?: number; write?: number; write1h?: number; output: number; searches?: number }) => {
  const audio = u.audio ?? 0
  const cached = u.cached ?? 0
  const write = u.write ?? 0
  const w1h = u.write1h ?? 0
  const hundredths = (u.input - audio - cached - write) * 300 + audio * AUDIO_RATE * 100 + cached * 30 + (write - w1h) * 375 + w1h * 600 + u.output * 1500
  return Math.ceil(hundredths / 100) + (u.searches ?? 0) * SEARCH_MICROS
}

let gw: TestGateway
let upstream: ReturnType<typeof startQuietUpstream>
let secret: string

beforeAll(async () => {
  upstream = startQuietUpstream(answer)
  const providers = scriptedProviders(upstream as any)
  gw = await startTestGateway({
    config: {
      log_level: 'silent',
      providers: { ...providers, audio: { ...providers.plain }, rchat: { ...providers.plain, responses: 'chat' } },
      pricing: {
        'plain:m': PRICE,
        'audio:m': { ...PRICE, audio_input_per_million: AUDIO_RATE },
        'rchat:m': PRICE,
        'ant:m': { ...PRICE, server_tools: { web_search: SEARCH_MICROS / 1e6 } },
      },
      cap_output_tokens: true,
      default_max_output_tokens: DEFAULT_MAX,
      clamp_output: true,
      clamp_output_floor_tokens: 8,
    },
  })
  secret = (await gw.userWithKey({ id: 'fb-money', max_budget: 100_000 })).secret
})

afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

test('money-path fuzz 2: stated input on cut streams, server tools, input-item tools, audio, random JSON, 5xx/529', async () => {
  const started = performance.now()
  const failures: string[] = []
  const cases: Array<{ c: Case; got: Got }> = []
  const tally: Record<string, number> = {}
  const count = (k: string) => (tally[k] = (tally[k] ?? 0) + 1)
  let n = 0
  while (n < CASES && performance.now() - started < RUN_BUDGET_MS) {
    const batch: Case[] = []
    while (batch.length < CONCURRENCY && n < CASES) {
      const c = generate(n++)
      if (ONLY && !ONLY.has(c.id)) continue
      batch.push(c)
    }
    await Promise.all(
      batch.map(async (c) => {
        plans.set(c.id, c.plan)
        let got: Got
        try {
          got = await send(c, gw.url, secret)
        } catch (e) {
          got = { status: 0, requestId: null, headers: null, raw: String(e), seen: '' }
        }
        cases.push({ c, got })
        const answerId = /"id":"(resp_fb[^"]+)"/.exec(got.raw)?.[1]
        if (c.route === 'responses' && got.status === 200 && answerId && c.body.store !== false && c.plan.mode === 'full' && (c.model === 'plain:m' || c.model === 'audio:m'))
          chainable.push({ model: c.model, id: answerId, audio: (upstreamStore.get(answerId)?.audio ?? 0) > 0 })
        if (TRACE) console.log(`#${c.id} ${got.status} ${c.label} calls=${c.plan.calls.length} ${got.raw.slice(0, 200)}`)
      }),
    )
  }
  for (let i = 0; i < 200 && pendingUpstream > 0; i++) await Bun.sleep(20)
  await Bun.sleep(200)
  await gw.settled()
  const rowsBy = new Map<string, any[]>()
  for (const r of gw.query('SELECT * FROM usage') as any[]) if (r.request_id) rowsBy.set(r.request_id, [...(rowsBy.get(r.request_id) ?? []), r])

  for (const { c, got } of cases) {
    const fail = (p: string) => failures.push(`#${c.id} [${c.label}]: ${p}`)
    if (got.status === 500 || got.status === 0) fail(`status ${got.status}: ${got.raw.slice(0, 300)}`)
    const calls = c.plan.calls
    const rows = got.requestId ? (rowsBy.get(got.requestId) ?? []) : []
    if (calls.length === 0) {
      count('refusedBefore')
      if (got.status === 200) fail('200 without an upstream call')
      if (rows.some((r) => r.cost > 0)) fail(`no upstream call but charged ${rows[0].cost}`)
      if (TRACE || got.status !== 402) fail(`refused before the provider with ${got.status}: ${got.raw.slice(0, 300)}`)
      continue
    }
    if (rows.length !== 1) {
      fail(`${calls.length} upstream call(s) but ${rows.length} row(s)`)
      continue
    }
    const row = rows[0]
    const s = calls[0]!
    const says = `(row ${row.status}: cost ${row.cost}, hold ${row.reserved}, prompt ${row.prompt_tokens}, completion ${row.completion_tokens}, cached ${row.cached_tokens}, writes ${row.cache_write_tokens}; upstream ${JSON.stringify(s)}; client ${got.status})`
    if (c.body.previous_response_id) count('chained')
    if (row.cost > row.reserved) fail(`charged past its hold ${says}`)
    // A client that waited out the provider's hold-back (no byte reached it before it) got the whole answer: no cut.
    const whole = /message_stop|response\.completed|\[DONE\]/.test(got.raw)
    const mode = c.plan.mode === 'client-cut' && whole ? 'full' : c.plan.mode
    if (mode === 'full') {
      count('full')
      const want = cost(s)
      if (row.cost !== want) fail(`charged ${row.cost}, usage prices at ${want} ${says}`)
      if (got.status !== 200) fail(`status ${got.status} for a good answer: ${got.raw.slice(0, 200)}`)
    } else if (mode === 'refused') {
      count('refused')
      if (row.cost !== 0) fail(`provider refused but charged ${row.cost}`)
      const want = c.plan.retryAfter === '' ? null : String(Math.ceil(Number(c.plan.retryAfter)))
      if (got.headers?.get('retry-after') !== want) fail(`provider said Retry-After ${JSON.stringify(c.plan.retryAfter)}, the client got ${got.headers?.get('retry-after')}`)
      if (c.route === 'messages' && c.plan.status === 529 && !got.raw.includes('overloaded_error')) fail(`529 not told as overloaded_error: ${got.raw.slice(0, 200)}`)
    } else if (mode === 'client-cut' && got.status === 200) {
      count('clientCut')
      if (row.status !== 'aborted') fail(`client cut but the row says ${row.status}`)
      const seenTokens = (() => {
        let len = 0
        let k = 0
        for (let j = 0; ; j++) {
          const p = OUT_PIECES[(j * 7) % OUT_PIECES.length]!
          if (len + p.length > got.seen.length) break
          len += p.length
          k++
        }
        return k
      })()
      if ((c.route === 'messages' || c.model === 'ant:m') && s.stated) {
        count('statedInput')
        const statedCost = cost({ input: s.statedInput, cached: s.cached, write: s.write, write1h: s.write1h, output: 0 })
        const floor = cost({ input: s.statedInput, cached: s.cached, write: s.write, write1h: s.write1h, output: seenTokens })
        if (row.cost < floor) fail(`cut after ${seenTokens} token(s) seen, charged ${row.cost} < stated input and that output ${floor} ${says}`)
        if (!s.serverToolInHead) {
          count('statedOnePass')
          const ceiling = statedCost + Math.ceil(s.headBytes * 15) + 1
          if (row.cost > ceiling) fail(`one-pass stream cut: charged ${row.cost} past its stated input ${statedCost} + every byte sent as output (${ceiling}) ${says}`)
        } else count('statedServerTool')
      } else {
        const floor = seenTokens > 0 ? cost({ input: s.input, output: seenTokens }) - s.audio * 0 : 0
        if (row.cost < Math.min(floor, row.reserved)) fail(`cut after ${seenTokens} token(s) seen charged ${row.cost} < ${floor} ${says}`)
      }
    } else if (mode === 'provider-cut') count('providerCut')
  }
  for (const id of ['fb-money']) {
    const user = gw.query('SELECT spend, reserved FROM users WHERE id = ?', id)[0] as any
    const total = (gw.query('SELECT coalesce(sum(cost), 0) AS c FROM usage WHERE user_id = ?', id)[0] as any).c
    if (user.reserved !== 0) failures.push(`after the run: reserved ${user.reserved}`)
    if (user.spend !== total) failures.push(`after the run: spend ${user.spend}, rows ${total}`)
  }
  console.log(`money fuzz 2 seed ${SEED}: ${cases.length} cases in ${((performance.now() - started) / 1000).toFixed(1)}s; ${JSON.stringify(tally)}`)
  if (failures.length) console.error(`MONEY FUZZ 2 FAILED — seed ${SEED}: ${failures.length}\n${failures.slice(0, 25).join('\n')}`)
  expect(failures, `money fuzz 2 seed ${SEED}`).toEqual([])
}, 90_000)
