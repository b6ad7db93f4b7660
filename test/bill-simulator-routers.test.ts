import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import {
  PROBE_BUDGET, dataEvent, holdOf, maybe, pick, runSeeds, sendCase, settlementViolations, simProviders,
  anthropicEvents, responsesEvents, sseResponse, textTokens,
  type BillingProvider, type ProviderCall, type Rnd, type SimCase, type Violation,
} from './support/bill-simulator'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * A third bill simulator (SPEC §5, §6, cap-output on), for the routers' fields: OpenRouter's web plugin
 * (`plugins: [{id: "web", max_results}]`, `…:online` models) on chat, Responses and Messages (anthropic type), with
 * a usage that does or does not count its own searches; xAI Responses with x_search / web_search / code_interpreter
 * answered with x_search_call, custom_tool_call by name and code_execution_call items (JSON, streamed, cut streams);
 * DashScope `enable_search`; fallback lists naming only the model itself; `audio_url` / `document_url` parts;
 * OpenAI's implicit cache writes on rows with and without a write rate. The provider answers with the LARGEST usage
 * it could legitimately bill for the request as sent upstream. Properties as in the other simulators.
 */

let provider: BillingProvider
let gw: TestGateway

const RATES = { input: 3, output: 15, cached: 0.3, cw5m: 3.75, cw1h: 6, audioIn: 40, audioOut: 80 }
const FEES = { web_search: 0.004, x_search: 0.005, code_interpreter: 0.03 }
const BASE = {
  input_per_million: RATES.input, output_per_million: RATES.output, cached_input_per_million: RATES.cached,
  audio_input_per_million: RATES.audioIn, audio_output_per_million: RATES.audioOut, server_tools: FEES,
}
const WITH_WRITES = { ...BASE, cache_write_per_million: RATES.cw5m, cache_write_1h_per_million: RATES.cw1h }
const MEDIA = 300
const PDF_MAX = 100 * 3000
const USE_INPUT = 100
const DEFAULT_MAX_USES = 2
const OPENROUTER_RESULTS = 5

// ---------- the provider ----------

function billOf(terms: Array<[number, number]>, feesUsd: number): number {
  let t = 0n
  for (const [tokens, usdPerM] of terms) t += BigInt(tokens) * BigInt(Math.round(usdPerM * 1e6))
  return Number((t + 999_999n) / 1_000_000n) + Math.round(feesUsd * 1e6)
}
const promptOf = (b: any) => textTokens(b.messages ?? []) + textTokens(b.system ?? '') + textTokens(b.input ?? '') + textTokens(b.instructions ?? '') + 3 * ((b.messages?.length ?? 1) + 1)
/** OpenRouter's web plugin results for the request as sent: its plugin's max_results (default 5), or an `:online` model's default. */
function webResults(b: any): number {
  const web = (b.plugins ?? []).find((p: any) => p?.id === 'web')
  if (web) return Number.isInteger(web.max_results) && web.max_results > 0 ? web.max_results : OPENROUTER_RESULTS
  return String(b.model).endsWith(':online') ? OPENROUTER_RESULTS : 0
}
/** The write rate the provider bills implicit writes at: the row's, or 1.25× input (GPT-5.6 and later). */
const writeRate = (model: string) => (model.startsWith('nowrite') ? RATES.input * 1.25 : RATES.cw5m)
const implicitWrites = (model: string) => model.startsWith('m') || model.startsWith('nowrite')

/** By-reference parts (audio_url, document_url): the first the most a request may carry, the rest the media bound. */
function byRefTokens(b: any): { text: number; audio: number } {
  let first = true
  let text = 0
  let audio = 0
  for (const m of b.messages ?? []) if (Array.isArray(m.content)) for (const p of m.content) {
    if (p?.type !== 'audio_url' && p?.type !== 'document_url') continue
    const t = first ? PDF_MAX : MEDIA
    first = false
    if (p.type === 'audio_url') audio += t
    else text += t
  }
  return { text, audio }
}

function chatAnswer(b: any) {
  const model = String(b.model)
  const R = webResults(b)
  const searches = b.web_search_options != null || b.enable_search === true ? 1 : 0
  const uses = R + searches
  const refs = byRefTokens(b)
  const text = promptOf(b) + refs.text + uses * USE_INPUT
  const prompt = text + refs.audio
  const write = implicitWrites(model) ? text : 0
  const output = b.max_completion_tokens ?? b.max_tokens
  const bill = billOf([[text - write, RATES.input], [write, writeRate(model)], [refs.audio, RATES.audioIn], [output, RATES.output]], uses * FEES.web_search)
  const usage = { prompt_tokens: prompt, completion_tokens: output, total_tokens: prompt + output, prompt_tokens_details: { cached_tokens: 0, audio_tokens: refs.audio, cache_write_tokens: write } }
  return { json: { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'length' }], usage }, bill }
}

function chatChunks(json: any): string[] {
  const base = { id: json.id, object: 'chat.completion.chunk', created: 1, model: json.model }
  return [
    dataEvent({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'x' }, finish_reason: 'length' }] }),
    dataEvent({ ...base, choices: [], usage: json.usage }),
    'data: [DONE]\n\n',
  ]
}

function anthropicAnswer(b: any) {
  const R = webResults(b)
  let native = 0
  for (const t of b.tools ?? []) if (/^web_search_\d{8}$/.test(t?.type)) native += t.max_uses
  const prompt = promptOf(b) + (b.tools?.length ? 346 : 0) + (native + R) * USE_INPUT
  const output = b.max_tokens
  // The usage reports the native tool's searches (all, none, or omits the count); the plugin's results are billed by the router.
  const report = b.metadata?.user_id === 'omit' ? undefined : b.metadata?.user_id === 'zero' ? 0 : native
  const usage: any = { input_tokens: prompt, output_tokens: output, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, ...(report === undefined ? {} : { server_tool_use: { web_search_requests: report } }) }
  const bill = billOf([[prompt, RATES.input], [output, RATES.output]], (R + (report ?? native)) * FEES.web_search)
  const content: any[] = []
  for (let i = 0; i < (report ?? native); i++) content.push({ type: 'server_tool_use', id: `srvtoolu_${i}`, name: 'web_search', input: { query: 'q' } }, { type: 'web_search_tool_result', tool_use_id: `srvtoolu_${i}`, content: [] })
  content.push({ type: 'text', text: 'x' })
  return { json: { id: 'msg_1', type: 'message', role: 'assistant', model: b.model, content, stop_reason: 'max_tokens', stop_sequence: null, usage }, bill }
}

const XAI_ITEMS: Record<string, Array<(i: number) => any>> = {
  x_search: [(i) => ({ type: 'x_search_call', id: `xs_${i}`, status: 'completed' }), (i) => ({ type: 'custom_tool_call', id: `ct_${i}`, call_id: `c_${i}`, name: pick(Math.random, ['x_keyword_search', 'x_user_search', 'x_semantic_search', 'x_thread_fetch']), input: '{}', status: 'completed' })],
  web_search: [(i) => ({ type: 'web_search_call', id: `ws_${i}`, status: 'completed', action: { type: 'search', query: 'q' } }), (i) => ({ type: 'custom_tool_call', id: `ct_${i}`, call_id: `c_${i}`, name: pick(Math.random, ['web_search', 'web_search_with_snippets', 'browse_page']), input: '{}', status: 'completed' })],
  code_interpreter: [(i) => ({ type: 'code_execution_call', id: `ce_${i}`, status: 'completed' }), (i) => ({ type: 'custom_tool_call', id: `ct_${i}`, call_id: `c_${i}`, name: 'code_execution', input: '{}', status: 'completed' })],
}

function responsesAnswer(b: any) {
  const R = webResults(b)
  const hosted = (b.tools ?? []).map((t: any) => (t.type === 'web_search' ? 'web_search' : t.type)).filter((t: string) => t in FEES) as Array<keyof typeof FEES>
  const calls = hosted.length ? b.max_tool_calls : 0
  const prompt = promptOf(b) + (calls + R) * USE_INPUT
  const output = b.max_output_tokens
  const items: any[] = []
  let fees = R * FEES.web_search
  // The dearest tool offered, every call allowed, shown as xAI shows them (by item type or custom_tool_call by name).
  const dearest = hosted.reduce<keyof typeof FEES | null>((best, t) => (best === null || FEES[t] > FEES[best] ? t : best), null)
  for (let i = 0; i < calls; i++) {
    items.push(pick(Math.random, XAI_ITEMS[dearest!]!)(i))
    fees += FEES[dearest!]
  }
  items.push({ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'x', annotations: [] }] })
  const model = String(b.model)
  const write = implicitWrites(model) ? prompt : 0
  const bill = billOf([[prompt - write, RATES.input], [write, writeRate(model)], [output, RATES.output]], fees)
  const json = { id: 'resp_1', object: 'response', created_at: 1, status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, model, output: items, usage: { input_tokens: prompt, input_tokens_details: { cached_tokens: 0, cache_write_tokens: write }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: prompt + output } }
  return { json, bill }
}

/** The billing provider, with cut streams: a request whose metadata says `cut` gets its stream without the last event(s). */
function startRouterProvider(): BillingProvider {
  const calls: ProviderCall[] = []
  const bills = new Map<number, number>()
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const text = await req.text()
      const b = text ? JSON.parse(text) : {}
      const path = new URL(req.url).pathname
      calls.push({ path, headers: req.headers, body: b })
      const i = calls.length - 1
      const route = path.endsWith('/chat/completions') ? 'chat' : path.endsWith('/messages') ? 'messages' : path.endsWith('/responses') ? 'responses' : null
      if (!route) return new Response('not found', { status: 404 })
      const { json, bill } = route === 'chat' ? chatAnswer(b) : route === 'messages' ? anthropicAnswer(b) : responsesAnswer(b)
      bills.set(i, bill)
      if (!b.stream) return Response.json(json)
      let events = route === 'chat' ? chatChunks(json) : route === 'messages' ? anthropicEvents(json) : responsesEvents(json)
      const cut = b.metadata?.cut
      if (cut) events = events.slice(0, Math.max(1, events.length - Number(cut)))
      return sseResponse(events)
    },
  })
  return { url: `http://127.0.0.1:${server.port}`, calls, bills, stop: () => server.stop(true) }
}

beforeAll(async () => {
  provider = startRouterProvider()
  gw = await startTestGateway({
    config: {
      providers: simProviders(provider.url),
      pricing: {
        'plain:m': WITH_WRITES, 'plain:nowrite': BASE, 'plain:m:online': WITH_WRITES, 'plain:nowrite:online': BASE,
        'plain:grok': BASE, 'plain:qwen': BASE, 'ant:c': BASE, 'ant:c:online': BASE,
      },
      cap_output_tokens: true,
      default_max_output_tokens: 64,
      media_part_tokens: MEDIA,
      server_tool_default_max_uses: DEFAULT_MAX_USES,
      server_tool_use_input_tokens: USE_INPUT,
      reject_user_mismatch: false,
    },
  })
})
afterAll(async () => {
  await gw?.stop()
  provider?.stop()
})

// ---------- the generator ----------

interface Case extends SimCase { cut?: number }
const text = (r: Rnd) => pick(r, ['hi', 'héllo wörld ✓', 'x'.repeat(1 + Math.floor(r() * 200))])
const plugin = (r: Rnd) => ({ plugins: [{ id: 'web', ...(maybe(r) ? { max_results: pick(r, [1, 3, 8]) } : {}) }] })
const fallbackOf = (r: Rnd, upstream: string) => pick(r, [{}, { models: [upstream] }, { models: [upstream], route: 'fallback' }, { fallbacks: [upstream] }])

function genChat(r: Rnd): Case {
  const model = pick(r, ['plain:m', 'plain:nowrite', 'plain:m:online', 'plain:nowrite:online', 'plain:qwen'])
  const upstream = model.slice('plain:'.length)
  const content: any[] = [{ type: 'text', text: text(r) }]
  if (maybe(r, 0.4)) content.push(pick(r, [{ type: 'audio_url', audio_url: { url: 'https://example.com/a.wav' } }, { type: 'document_url', document_url: 'https://example.com/a.pdf' }]))
  const body: any = { model, messages: [{ role: 'user', content }], ...fallbackOf(r, upstream) }
  if (model === 'plain:qwen') body.enable_search = maybe(r, 0.8)
  else if (maybe(r, 0.5)) Object.assign(body, plugin(r))
  if (maybe(r, 0.2)) body.web_search_options = {}
  const max = pick(r, [undefined, 16, 300])
  if (max !== undefined) body.max_tokens = max
  if (maybe(r)) body.stream = true
  return { path: '/v1/chat/completions', body, headers: {}, label: 'chat' }
}

function genMessages(r: Rnd): Case {
  const model = pick(r, ['ant:c', 'ant:c:online'])
  const body: any = { model, max_tokens: pick(r, [16, 300]), messages: [{ role: 'user', content: [{ type: 'text', text: text(r) }] }], metadata: { user_id: pick(r, ['omit', 'zero', 'all']) } }
  if (maybe(r, 0.5)) Object.assign(body, plugin(r))
  if (maybe(r, 0.5)) body.tools = [{ type: 'web_search_20250305', name: 'web_search', ...(maybe(r) ? { max_uses: pick(r, [1, 3]) } : {}) }]
  if (maybe(r)) body.stream = true
  return { path: '/v1/messages', body, headers: {}, label: 'messages' }
}

function genResponses(r: Rnd): Case {
  const model = pick(r, ['plain:m', 'plain:nowrite', 'plain:m:online', 'plain:grok', 'plain:grok'])
  const upstream = model.slice('plain:'.length)
  const body: any = { model, input: [{ role: 'user', content: [{ type: 'input_text', text: text(r) }] }], store: false, ...fallbackOf(r, upstream) }
  const max = pick(r, [undefined, 16, 300])
  if (max !== undefined) body.max_output_tokens = max
  if (model === 'plain:grok') {
    const tools = [{ type: 'x_search' }, { type: 'web_search' }, { type: 'code_interpreter', container: { type: 'auto' } }].filter(() => maybe(r, 0.5))
    if (tools.length) body.tools = tools
  } else {
    if (maybe(r, 0.5)) Object.assign(body, plugin(r))
    if (maybe(r, 0.4)) body.tools = [{ type: 'web_search' }]
  }
  if (body.tools && maybe(r)) body.max_tool_calls = pick(r, [1, 3])
  let cut: number | undefined
  if (maybe(r)) {
    body.stream = true
    // Cut before its terminal event (the output items delivered): a stream cut before any output is released (test/upstream-faults.test.ts).
    if (maybe(r, 0.4)) { cut = 1; body.metadata = { cut: String(cut) } }
  }
  return { path: '/v1/responses', body, headers: {}, label: `responses${cut ? '-cut' : ''}`, cut }
}

let userN = 0
let served = 0
const short = (b: any) => JSON.stringify(b, (_k, v) => (typeof v === 'string' && v.length > 80 ? `<${v.length} chars>` : v)).slice(0, 700)

async function runCase(seed: number, c: Case): Promise<Violation[]> {
  const out: Violation[] = []
  const v = (what: string) => out.push({ seed, label: c.label, body: short(c.body), what })
  const probe = await gw.userWithKey({ id: `axsim-p-${++userN}`, max_budget: PROBE_BUDGET })
  const first = await sendCase(gw, probe.secret, c)
  if (first.res.status !== 200) { if (process.env.SIM_DEBUG) console.log(seed, c.label, first.res.status, first.text.slice(0, 300)); return out }
  served++
  const held = holdOf(first.res)
  await gw.settled()
  const id = `axsim-t-${++userN}`
  const tight = await gw.userWithKey({ id, max_budget: held / 1e6 })
  const before = provider.calls.length
  const second = await sendCase(gw, tight.secret, c)
  await gw.settled()
  if (second.res.status !== 200) { v(`tight user refused: ${second.res.status} ${second.text.slice(0, 200)}`); return out }
  const billNote = (upstream: { body: any }) => ` for what it was sent (upstream body ${short(upstream.body)})`
  const found = await settlementViolations(gw, provider, { id, budget: held, rows: 1, callsBefore: before, budgetNote: ` (hold ${held})`, billNote })
  for (const what of found) {
    // A cut stream ends without usage: charged the estimate (SPEC §6), which is at least the bill.
    if (c.cut && what.startsWith('(b)')) {
      const cost = gw.query<{ cost: number }>('SELECT cost FROM usage WHERE user_id = ?', id)[0]!.cost
      if (cost >= provider.bills.get(before)! && cost <= held) continue
    }
    v(what)
  }
  return out
}

describe('bill simulator, routers: web plugin, xAI server tools, DashScope search, fallbacks, media by URL, implicit writes', () => {
  test('seeded random requests: spend <= budget, cost = provider bill for the request as sent, nothing held, every request recorded', async () => {
    const { seeds, violations } = await runSeeds((s, r) => runCase(s, pick(r, [genChat, genMessages, genResponses])(r)))
    if (process.env.SIM_DEBUG) console.log({ served })
    if (violations.length) console.log(JSON.stringify(violations, null, 1))
    expect(violations).toEqual([])
    expect(served).toBeGreaterThanOrEqual(seeds * 0.7)
  }, 60_000)
})
