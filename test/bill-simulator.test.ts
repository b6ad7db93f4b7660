import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { seededRandom } from './support/seeded'

/**
 * A bill simulator (SPEC §5, §6 with cap-output on): seeded random requests on every inference route,
 * native and translated, JSON and streamed, combining billed features, sent through a real gateway in front
 * of a provider that answers each with the LARGEST usage it could legitimately bill for it (every output
 * token allowed, every tool use allowed, cache writes at the dearest lifetime asked, the dearest tier and
 * geography the request leaves to the provider's default). Each case runs twice: a probe user reads the hold,
 * then a user whose max_budget is exactly that hold sends it. Properties: (a) spend <= max_budget; (b) the
 * settled cost equals the provider's bill for the usage it reported, computed here from the providers'
 * published rules (not from src/pricing); (c) reserved returns to 0; (d) one usage row per request.
 */

interface Call { path: string; headers: Headers; body: any }
const calls: Call[] = []
let server: ReturnType<typeof Bun.serve>
let gw: TestGateway

// USD per million tokens; per use; multipliers.
const RATES = { input: 3, output: 15, cached: 0.3, cw5m: 3.75, cw1h: 6, audioIn: 40, audioOut: 80 }
const WEB_SEARCH = 0.01
const TIERS: Record<string, number> = { priority: 2, flex: 0.5, fast: 6, long_context: 2, long_context_output: 1.5, inference_geo_us: 1.1 }
const PRICE = {
  input_per_million: RATES.input, output_per_million: RATES.output, cached_input_per_million: RATES.cached,
  cache_write_per_million: RATES.cw5m, cache_write_1h_per_million: RATES.cw1h,
  audio_input_per_million: RATES.audioIn, audio_output_per_million: RATES.audioOut,
  server_tools: { web_search: WEB_SEARCH }, service_tiers: TIERS,
}
const USE_INPUT = 100
const DEFAULT_MAX_USES = 2

// ---------- the provider: the largest legitimate usage, and its bill by the published rules ----------

const utf8 = (s: string) => new TextEncoder().encode(s).length
/** A generous count of the prompt's text tokens: every byte of every string in it, and 3 a message. */
function textTokens(v: unknown): number {
  if (typeof v === 'string') return utf8(v)
  if (Array.isArray(v)) return v.reduce((n, x) => n + textTokens(x), 0)
  if (v && typeof v === 'object') {
    let n = 0
    for (const [k, x] of Object.entries(v)) if (k !== 'cache_control' && k !== 'type' && k !== 'role') n += textTokens(x)
    return n
  }
  return 0
}
const promptOf = (b: any) => textTokens(b.messages ?? []) + textTokens(b.system ?? '') + textTokens(b.input ?? '') + textTokens(b.instructions ?? '') + 3 * ((b.messages?.length ?? 1) + 1)

interface Bill { micros: bigint }
/** Σ tokens × USD/M × multiplier, in micro-USD rounded up (exact: rates and multipliers in thousandths). */
function billOf(terms: Array<[number, number, number]>, feesUsd: number): number {
  let t = 0n
  for (const [tokens, usdPerM, mult] of terms) t += BigInt(tokens) * BigInt(Math.round(usdPerM * 1e6)) * BigInt(Math.round(mult * 1000))
  const d = 1_000_000n * 1000n
  return Number((t + d - 1n) / d) + Math.round(feesUsd * 1e6)
}

const expected = new Map<string, number>() // upstream call index → bill (µ$)

function chatAnswer(b: any): { json: any; bill: number } {
  const n = typeof b.n === 'number' ? b.n : 1
  const max = b.max_completion_tokens ?? b.max_tokens
  const completion = max * n
  const audioOut = b.audio != null || (Array.isArray(b.modalities) && b.modalities.includes('audio'))
  const tier = typeof b.service_tier === 'string' && b.service_tier !== 'auto' ? b.service_tier : 'priority'
  const searches = b.web_search_options != null ? 1 : 0
  const prompt = promptOf(b)
  const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { audio_tokens: audioOut ? completion : 0 } }
  const m = TIERS[tier] ?? 1
  const bill = billOf([[prompt, RATES.input, m], [audioOut ? 0 : completion, RATES.output, m], [audioOut ? completion : 0, RATES.audioOut, m]], searches * WEB_SEARCH)
  const choices = Array.from({ length: n }, (_, i) => ({ index: i, message: { role: 'assistant', content: 'x' }, finish_reason: 'length' }))
  return { json: { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: b.model, service_tier: tier, choices, usage }, bill }
}

function anthropicAnswer(b: any, beta: string): { json: any; bill: number } {
  let webUses = 0
  for (const t of b.tools ?? []) if (/^web_search_\d{8}$/.test(t?.type)) webUses += t.max_uses
  let ttl: '5m' | '1h' | null = null
  JSON.stringify(b, (k, v) => {
    if (k === 'cache_control' && v) ttl = ttl === '1h' || v.ttl === '1h' ? '1h' : '5m'
    return v
  })
  const prompt = promptOf(b) + (b.tools?.length ? 346 : 0) + webUses * USE_INPUT
  const output = b.max_tokens
  const geo = typeof b.inference_geo === 'string' ? b.inference_geo : 'us'
  const fast = b.speed === 'fast'
  const write = ttl ? prompt : 0
  const usage: any = {
    input_tokens: prompt - write, output_tokens: output, cache_read_input_tokens: 0, cache_creation_input_tokens: write,
    cache_creation: { ephemeral_5m_input_tokens: ttl === '5m' ? write : 0, ephemeral_1h_input_tokens: ttl === '1h' ? write : 0 },
    server_tool_use: { web_search_requests: webUses }, inference_geo: geo, ...(fast ? { speed: 'fast' } : {}),
  }
  const long = /context-1m-/.test(beta) && prompt > 200_000
  let m = (fast ? TIERS.fast! : 1) * (geo === 'us' ? TIERS.inference_geo_us! : 1)
  const mi = m * (long ? 2 : 1)
  const mo = m * (long ? 1.5 : 1)
  const bill = billOf([[prompt - write, RATES.input, mi], [ttl === '5m' ? write : 0, RATES.cw5m, mi], [ttl === '1h' ? write : 0, RATES.cw1h, mi], [output, RATES.output, mo]], webUses * WEB_SEARCH)
  const content: any[] = []
  for (let i = 0; i < webUses; i++) content.push({ type: 'server_tool_use', id: `srvtoolu_${i}`, name: 'web_search', input: { query: 'q' } }, { type: 'web_search_tool_result', tool_use_id: `srvtoolu_${i}`, content: [] })
  content.push({ type: 'text', text: 'x' })
  return { json: { id: 'msg_1', type: 'message', role: 'assistant', model: b.model, content, stop_reason: 'max_tokens', stop_sequence: null, usage }, bill }
}

function responsesAnswer(b: any): { json: any; bill: number } {
  const searches = (b.tools ?? []).some((t: any) => /^web_search/.test(t?.type)) ? b.max_tool_calls : 0
  const tier = typeof b.service_tier === 'string' && b.service_tier !== 'auto' ? b.service_tier : 'priority'
  const prompt = promptOf(b) + searches * USE_INPUT
  const output = b.max_output_tokens
  const m = TIERS[tier] ?? 1
  const bill = billOf([[prompt, RATES.input, m], [output, RATES.output, m]], searches * WEB_SEARCH)
  const items: any[] = []
  for (let i = 0; i < searches; i++) items.push({ type: 'web_search_call', id: `ws_${i}`, status: 'completed', action: { type: 'search', query: 'q' } })
  items.push({ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'x', annotations: [] }] })
  const json = { id: 'resp_1', object: 'response', created_at: 1, status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, model: b.model, service_tier: tier, output: items, usage: { input_tokens: prompt, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: prompt + output } }
  return { json, bill }
}

const sse = (events: string[]) => new Response(events.join(''), { headers: { 'content-type': 'text/event-stream' } })
const data = (d: unknown) => `data: ${JSON.stringify(d)}\n\n`
const named = (d: any) => `event: ${d.type}\ndata: ${JSON.stringify(d)}\n\n`

function answer(path: string, headers: Headers, b: any): Response {
  if (path.endsWith('/chat/completions')) {
    const { json, bill } = chatAnswer(b)
    expected.set(String(calls.length - 1), bill)
    if (!b.stream) return Response.json(json)
    const base = { id: json.id, object: 'chat.completion.chunk', created: 1, model: json.model, service_tier: json.service_tier }
    return sse([
      ...json.choices.map((c: any) => data({ ...base, choices: [{ index: c.index, delta: { role: 'assistant', content: 'x' }, finish_reason: null }] })),
      ...json.choices.map((c: any) => data({ ...base, choices: [{ index: c.index, delta: {}, finish_reason: 'length' }] })),
      data({ ...base, choices: [], usage: json.usage }),
      'data: [DONE]\n\n',
    ])
  }
  if (path.endsWith('/messages')) {
    const { json, bill } = anthropicAnswer(b, headers.get('anthropic-beta') ?? '')
    expected.set(String(calls.length - 1), bill)
    if (!b.stream) return Response.json(json)
    const { content, usage, ...rest } = json
    const ev: string[] = [named({ type: 'message_start', message: { ...rest, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } })]
    content.forEach((block: any, index: number) => {
      if (block.type === 'text') {
        ev.push(named({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } }))
        ev.push(named({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } }))
      } else if (block.type === 'server_tool_use') {
        ev.push(named({ type: 'content_block_start', index, content_block: { ...block, input: {} } }))
        ev.push(named({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } }))
      } else ev.push(named({ type: 'content_block_start', index, content_block: block }))
      ev.push(named({ type: 'content_block_stop', index }))
    })
    ev.push(named({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage }))
    ev.push(named({ type: 'message_stop' }))
    return sse(ev)
  }
  if (path.endsWith('/responses')) {
    const { json, bill } = responsesAnswer(b)
    expected.set(String(calls.length - 1), bill)
    if (!b.stream) return Response.json(json)
    let seq = 0
    const ev = [named({ type: 'response.created', sequence_number: seq++, response: { ...json, status: 'in_progress', output: [], usage: null } })]
    json.output.forEach((item: any, output_index: number) => {
      ev.push(named({ type: 'response.output_item.added', sequence_number: seq++, output_index, item }))
      ev.push(named({ type: 'response.output_item.done', sequence_number: seq++, output_index, item }))
    })
    ev.push(named({ type: 'response.incomplete', sequence_number: seq++, response: json }))
    return sse(ev)
  }
  return new Response('not found', { status: 404 })
}

beforeAll(async () => {
  server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const text = await req.text()
      const body = text ? JSON.parse(text) : {}
      const path = new URL(req.url).pathname
      calls.push({ path, headers: req.headers, body })
      return answer(path, req.headers, body)
    },
  })
  const url = `http://127.0.0.1:${server.port}`
  gw = await startTestGateway({
    config: {
      providers: {
        plain: { type: 'openai', base_url: `${url}/v1`, api_key: 'sk-sim-secret-0123456789' },
        ant: { type: 'anthropic', base_url: url, api_key: 'sk-ant-sim-secret-0123456789' },
      },
      pricing: { 'plain:m': PRICE, 'ant:m': PRICE },
      cap_output_tokens: true,
      default_max_output_tokens: 64,
      server_tool_default_max_uses: DEFAULT_MAX_USES,
      server_tool_use_input_tokens: USE_INPUT,
    },
  })
})
afterAll(async () => {
  await gw?.stop()
  server?.stop(true)
})

// ---------- the generator ----------

type Rnd = () => number
const pick = <T,>(r: Rnd, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!
const maybe = (r: Rnd, p = 0.5) => r() < p

interface Case { path: string; body: any; headers: Record<string, string>; label: string }

function text(r: Rnd): string {
  return pick(r, ['hi', 'héllo wörld ✓', 'x'.repeat(1 + Math.floor(r() * 300)), '日本語のテキスト'])
}

function genChat(r: Rnd): Case {
  const model = pick(r, ['plain:m', 'ant:m'])
  const body: any = { model, messages: [{ role: 'user', content: text(r) }] }
  if (maybe(r, 0.3)) body.messages.unshift({ role: 'system', content: text(r) })
  const max = pick(r, [undefined, 5, 64, 5000])
  if (max !== undefined) body[pick(r, ['max_tokens', 'max_completion_tokens'])] = max
  if (maybe(r, 0.4)) body.service_tier = pick(r, ['priority', 'flex', 'auto', 'default'])
  if (model === 'plain:m' && maybe(r, 0.3)) body.n = pick(r, [2, 3])
  if (model === 'plain:m' && maybe(r, 0.3)) body.web_search_options = {}
  if (model === 'plain:m' && maybe(r, 0.2)) { body.modalities = ['text', 'audio']; body.audio = { voice: 'alloy', format: 'wav' } }
  if (maybe(r, 0.3)) body.tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }]
  if (maybe(r)) { body.stream = true; if (maybe(r)) body.stream_options = { include_usage: true } }
  return { path: '/v1/chat/completions', body, headers: {}, label: 'chat' }
}

function genMessages(r: Rnd): Case {
  const model = pick(r, ['ant:m', 'ant:m', 'plain:m'])
  const ttl = pick(r, [null, '5m', '1h'])
  const cc = ttl === null ? undefined : ttl === '5m' ? { type: 'ephemeral' } : { type: 'ephemeral', ttl: '1h' }
  const marked = { type: 'text', text: text(r), ...(cc ? { cache_control: cc } : {}) }
  // cache_control may sit on a block nested in another: a custom-content document's text.
  const block = maybe(r, 0.3) ? { type: 'document', source: { type: 'content', content: [marked] } } : marked
  const body: any = { model, max_tokens: pick(r, [5, 64, 5000, 20000]), messages: [{ role: 'user', content: [block] }] }
  if (maybe(r, 0.3)) body.system = text(r)
  const headers: Record<string, string> = {}
  if (maybe(r, 0.3)) body.tools = [{ name: 'f', input_schema: { type: 'object' } }]
  if (maybe(r, 0.4)) (body.tools ??= []).push({ type: 'web_search_20250305', name: 'web_search', ...(maybe(r) ? { max_uses: pick(r, [1, 3]) } : {}) })
  if (maybe(r, 0.3)) body.speed = 'fast'
  if (maybe(r, 0.4)) body.inference_geo = pick(r, ['us', 'global'])
  if (maybe(r, 0.3) && body.max_tokens > 2000) body.thinking = { type: 'enabled', budget_tokens: 1024 }
  if (maybe(r, 0.15)) { headers['anthropic-beta'] = 'context-1m-2025-08-07'; body.messages[0].content.push({ type: 'text', text: 'y'.repeat(210_000) }) }
  if (maybe(r)) body.stream = true
  return { path: '/v1/messages', body, headers, label: 'messages' }
}

function genResponses(r: Rnd): Case {
  const model = pick(r, ['plain:m', 'plain:m', 'ant:m'])
  const body: any = { model, input: maybe(r) ? text(r) : [{ role: 'user', content: [{ type: 'input_text', text: text(r) }] }], store: false }
  if (maybe(r, 0.3)) body.instructions = text(r)
  const max = pick(r, [undefined, 16, 64, 5000])
  if (max !== undefined) body.max_output_tokens = max
  if (maybe(r, 0.4)) body.tools = [{ type: 'web_search' }]
  if (body.tools && maybe(r)) body.max_tool_calls = pick(r, [1, 3])
  if (model === 'plain:m' && maybe(r, 0.4)) body.service_tier = pick(r, ['priority', 'flex', 'auto'])
  if (maybe(r)) body.stream = true
  return { path: '/v1/responses', body, headers: {}, label: 'responses' }
}

let userN = 0
let served = 0
const refusals: string[] = []
async function send(secret: string, c: Case) {
  const res = await fetch(gw.url + c.path, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...c.headers }, body: JSON.stringify(c.body) })
  const text = await res.text()
  return { res, text }
}

interface Violation { seed: number; label: string; body: string; what: string }

async function runCase(seed: number, c: Case): Promise<Violation[]> {
  const out: Violation[] = []
  const v = (what: string) => out.push({ seed, label: c.label, body: JSON.stringify({ ...c.body, messages: c.body.messages?.map((m: any) => JSON.stringify(m).length > 400 ? '<long>' : m) }).slice(0, 600) + (c.headers['anthropic-beta'] ? ' beta=' + c.headers['anthropic-beta'] : ''), what })
  const probe = await gw.userWithKey({ id: `sim-p-${++userN}`, max_budget: 1000 })
  const first = await send(probe.secret, c)
  refusals.push(`${c.label} ${c.body.model} ${first.res.status}`)
  if (first.res.status === 200) served++
  if (first.res.status !== 200) { if (process.env.SIM_DEBUG) console.log(c.label, first.res.status, first.text.slice(0, 300)); return out }
  const held = Math.round((1000 - Number(first.res.headers.get('x-budget-remaining'))) * 1e6)
  const id = `sim-t-${++userN}`
  const tight = await gw.userWithKey({ id, max_budget: held / 1e6 })
  const before = calls.length
  const second = await send(tight.secret, c)
  await gw.settled()
  if (second.res.status !== 200) v(`tight user refused: ${second.res.status} ${second.text.slice(0, 200)}`)
  const user = (await gw.admin('GET', `/v1/users/${id}`)).body
  const spend = Math.round(user.spend * 1e6)
  const rows = gw.query<{ cost: number; status: string }>('SELECT cost, status FROM usage WHERE user_id = ?', id)
  const upstreamCalls = calls.length - before
  if (spend > held) v(`(a) spend ${spend} > max_budget ${held}`)
  if (user.reserved !== 0) v(`(c) reserved ${user.reserved}`)
  if (rows.length !== 1) v(`(d) ${rows.length} usage rows`)
  if (upstreamCalls === 1) {
    const bill = expected.get(String(before))!
    if (rows[0] && rows[0].cost !== bill) v(`(b) settled ${rows[0].cost} µ$ (${rows[0].status}) but the provider bills ${bill} µ$ (hold ${held})`)
  } else v(`${upstreamCalls} upstream calls`)
  return out
}

describe('bill simulator, cap-output on', () => {
  test('seeded random requests across every route: spend <= budget, cost = provider bill, nothing held, every request recorded', async () => {
    const seeds = Number(process.env.SIM_CASES ?? 60)
    const base = Number(process.env.SIM_SEED ?? 1)
    const violations: Violation[] = []
    for (let s = base; s < base + seeds; s++) {
      const r = seededRandom(s)
      const c = pick(r, [genChat, genMessages, genResponses])(r)
      violations.push(...(await runCase(s, c)))
    }
    const tally: Record<string, number> = {}
    for (const x of refusals) tally[x] = (tally[x] ?? 0) + 1
    if (process.env.SIM_DEBUG) console.log(tally)
    if (violations.length) console.log(JSON.stringify(violations, null, 1))
    expect(violations).toEqual([])
    // The properties hold only for requests served: nearly every generated case must be (a refusal is before any hold).
    expect(served).toBeGreaterThanOrEqual(seeds * 0.8)
  }, 60_000)
})
