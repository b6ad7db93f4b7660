/**
 * Differential fuzz of the hold against the bill, written after the estimate began counting text at its NFKC bytes
 * and, with cap-output on, holding a part as text only when it is text-typed without a uuid or media key (else as
 * media, its input charged whole). It found Mistral's thinking chunk held as media. Random-but-valid requests on chat, Responses and Messages, to an OpenAI-type and an
 * Anthropic-type provider and through the translated routes (chat→Anthropic, Messages→chat, Responses→chat,
 * Responses→Anthropic): message shapes and part types real clients send, tools, images, unicode text (NFKC-expanding
 * characters among it), cache_control, service tiers.
 *
 * The provider reports the largest plausible usage for what reached it: input = the UTF-8 bytes (of the NFKC form
 * where larger) of every string it received but image data, plus 3 a message and 765 an image; output = the max it
 * was sent. Mode `overreport` (requests of text alone): it reports far more input than the text could bill.
 *
 * Oracle (cap-output on): refusals before any provider call, with a 4xx; a served request writes one row, cost ≤
 * hold; a plausible usage is charged exactly at its price (the hold covered it: nothing unbilled); an over-report on
 * a request of text alone is capped (its input is not charged whole); at the end each user's spend ≤ max_budget and
 * nothing is left reserved. FUZZ_SEED, FUZZ_CASES, FUZZ_BUDGET_MS, FUZZ_TRACE=1.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { scriptedProviders, startScriptedUpstream, type ScriptedCall, type ScriptedUpstream } from './support/scripted-upstream'
import { seededRandom } from './support/seeded'

const SEED = Number(process.env.FUZZ_SEED ?? 7)
const CASES = Number(process.env.FUZZ_CASES ?? 3000)
const RUN_BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 40_000)
const TRACE = process.env.FUZZ_TRACE === '1'
const CONCURRENCY = 4
/** FUZZ_NO_THINK=1 leaves out Mistral's thinking chunk (test/cap-output-mistral-thinking-text.test.ts). */
const NO_THINK = process.env.FUZZ_NO_THINK === '1'

const next = seededRandom(SEED)
const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1))
const chance = (p: number) => next() < p
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!
type Json = Record<string, any>

const PRICE = { input_per_million: 1, output_per_million: 2 }
const IMAGE_TOKENS = 765
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='
// NFKC expands: U+FDFA (3 → 33 bytes), U+FDFB, ㍿ (株式会社), ﬃ, ², ㎏, ½, Ⅻ; and ordinary text.
const WORDS = ['hello', 'world', 'é', 'e\u0301', '你好', '😀', 'Ωμέγα', 'x', '"q"', 'a\\b', 'new\nline', '\u2028', '\ufdfa', '\ufdfb', '\u337f', '\ufb03', '\u00b2', '\u338f', '\u00bd', '\u216b', '\uff21\uff22', 'ｶﾀｶﾅ']
const text = () => 'w ' + Array.from({ length: int(1, 40) }, () => (chance(0.15) ? pick(WORDS).repeat(int(2, 60)) : pick(WORDS))).join(' ')

// ---- the provider's plausible count of what reached it ------------------------------------------------------------
const nfkcMax = (s: string) => Math.max(Buffer.byteLength(s, 'utf8'), Buffer.byteLength(s.normalize('NFKC'), 'utf8'))
const isImage = (v: any) => v && typeof v === 'object' && (v.type === 'image_url' || v.type === 'image' || v.type === 'input_image')
function plausibleInput(body: Json): number {
  let n = 0
  const walk = (v: any, key: string) => {
    if (typeof v === 'string') {
      if (key !== 'model') n += nfkcMax(v)
      return
    }
    if (Array.isArray(v)) return v.forEach((x) => walk(x, key))
    if (v && typeof v === 'object') {
      if (isImage(v)) return void (n += IMAGE_TOKENS)
      for (const [k, x] of Object.entries(v)) walk(x, k)
    }
  }
  for (const [k, v] of Object.entries(body)) if (!['model', 'stream', 'max_tokens', 'max_completion_tokens', 'max_output_tokens', 'service_tier', 'stream_options'].includes(k)) walk(v, k)
  const messages = (body.messages ?? body.input ?? []) as unknown[]
  return n + 3 * (Array.isArray(messages) ? messages.length : 1)
}
/** Parts held as media: images, and (for vLLM) a part carrying a `uuid`, whose input is charged whole. */
const heldAsMedia = (body: unknown): boolean => JSON.stringify(body).match(/"type":"(image_url|image|input_image)"|"uuid":/) !== null

interface Usage { input: number; write: number; output: number; tier: string | null }
interface Plan { overreport: boolean; calls: Usage[] }
const plans = new Map<string, Plan>()
const TIERS: Record<string, number> = { priority: 2, flex: 0.5 }

const sse = (events: string[]) => new Response(events.join(''), { headers: { 'content-type': 'text/event-stream' } })
const anEvent = (d: Json) => `event: ${d.type}\ndata: ${JSON.stringify(d)}\n\n`
const oaEvent = (d: unknown) => `data: ${typeof d === 'string' ? d : JSON.stringify(d)}\n\n`

function answer(call: ScriptedCall): Response {
  const b = call.body
  const plan = plans.get(findCase(b))
  const count = plausibleInput(b)
  const total = plan?.overreport ? count * 5 + 5_000 : count
  const output = Number(b.max_tokens ?? b.max_completion_tokens ?? b.max_output_tokens ?? 64)
  const anthropic = call.path.endsWith('/messages')
  // Anthropic writes the prompt to its cache where the request marks a breakpoint: half of it here, at 1.25× input.
  const write = anthropic && JSON.stringify(b).includes('cache_control') ? Math.floor(total / 2) : 0
  const tier = typeof b.service_tier === 'string' && b.service_tier in TIERS ? b.service_tier : null
  const u: Usage = { input: total - write, write, output, tier }
  plan?.calls.push(u)
  const stream = b.stream === true
  if (anthropic) {
    const usage = { input_tokens: u.input, output_tokens: output, cache_creation_input_tokens: write, cache_read_input_tokens: 0, ...(tier ? { service_tier: tier } : {}) }
    if (!stream) return Response.json({ id: 'msg_1', type: 'message', role: 'assistant', model: b.model, content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null, usage })
    return sse([
      anEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: b.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }),
      anEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      anEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ok' } }),
      anEvent({ type: 'content_block_stop', index: 0 }),
      anEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: output } }),
      anEvent({ type: 'message_stop' }),
    ])
  }
  if (call.path.endsWith('/responses')) {
    const usage = { input_tokens: u.input, output_tokens: output, total_tokens: u.input + output, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } }
    const item = { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }
    const resp = (status: string, out: Json[], us: unknown) => ({ id: 'resp_fuzz1', object: 'response', created_at: 1, status, model: b.model, output: out, usage: us, ...(tier ? { service_tier: tier } : {}) })
    if (!stream) return Response.json(resp('completed', [item], usage))
    let seq = 0
    const ev = (type: string, d: Json) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...d })}\n\n`
    return sse([
      ev('response.created', { response: resp('in_progress', [], null) }),
      ev('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } }),
      ev('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'ok' }),
      ev('response.output_item.done', { output_index: 0, item }),
      ev('response.completed', { response: resp('completed', [item], usage) }),
    ])
  }
  const usage = { prompt_tokens: u.input, completion_tokens: output, total_tokens: u.input + output }
  if (!stream) return Response.json({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: b.model, ...(tier ? { service_tier: tier } : {}), choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage })
  const chunk = (choices: Json[], extra: Json = {}) => oaEvent({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: b.model, ...(tier ? { service_tier: tier } : {}), choices, ...extra })
  return sse([chunk([{ index: 0, delta: { role: 'assistant', content: 'ok' }, finish_reason: null }]), chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]), chunk([], { usage }), oaEvent('[DONE]')])
}
/** Each case's first text carries a tag `[case N]` the provider finds in whatever shape the body reached it. */
const findCase = (b: Json) => /\[case (\d+)\]/.exec(JSON.stringify(b))?.[1] ?? ''

// ---- generators --------------------------------------------------------------------------------------------------
type Route = 'chat' | 'messages' | 'responses'
interface Case { id: number; route: Route; model: string; body: Json; user: string; label: string; media: boolean }

const cache = () => (chance(0.2) ? { cache_control: { type: 'ephemeral' } } : {})
function chatPart(untyped = false): Json {
  const r = next()
  if (r < 0.12) return { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}`, ...(chance(0.5) ? { detail: pick(['low', 'high', 'auto']) } : {}) } }
  // vLLM reads a part carrying a `uuid` by its media keys, whatever its type: held as media, input charged whole.
  if (untyped && r < 0.2) return { type: 'text', text: text(), uuid: `part-${int(1, 1_000_000)}` }
  return { type: 'text', text: text(), ...cache() }
}
function chatMessages(tools: boolean, untyped: boolean): Json[] {
  const msgs: Json[] = []
  if (chance(0.5)) msgs.push({ role: pick(['system', 'developer']), content: chance(0.5) ? text() : [{ type: 'text', text: text() }] })
  for (let t = int(1, 4); t > 0; t--) {
    msgs.push({ role: 'user', content: chance(0.4) ? text() : Array.from({ length: int(1, 3) }, () => chatPart(untyped)) })
    if (t > 1) {
      if (tools && chance(0.4)) {
        const id = `call_${int(1, 1e6)}`
        msgs.push({ role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ q: text() }) } }] })
        msgs.push({ role: 'tool', tool_call_id: id, content: chance(0.5) ? text() : [{ type: 'text', text: text() }] })
      } else if (untyped && !NO_THINK && chance(0.15)) msgs.push({ role: 'assistant', content: [{ type: 'thinking', thinking: [{ type: 'text', text: text() }], closed: true }, { type: 'text', text: text() }] }) // mistralai SDK, Magistral
      else msgs.push({ role: 'assistant', content: chance(0.5) ? text() : [{ type: 'text', text: text() }, ...(chance(0.2) ? [{ type: 'refusal', refusal: text() }] : [])], ...(chance(0.1) ? { name: 'bot' } : {}) })
    }
  }
  return msgs
}
const chatTools = () => [{ type: 'function', function: { name: 'lookup', description: text(), parameters: { type: 'object', properties: { q: { type: 'string', description: text() } } } } }]

function anthropicBlock(): Json {
  const r = next()
  if (r < 0.12) return { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }
  return { type: 'text', text: text(), ...cache() }
}
function anthropicMessages(tools: boolean, native: boolean): Json[] {
  const msgs: Json[] = []
  for (let t = int(1, 4); t > 0; t--) {
    msgs.push({ role: 'user', content: chance(0.4) ? text() : Array.from({ length: int(1, 3) }, anthropicBlock) })
    if (t > 1) {
      if (tools && chance(0.4)) {
        const id = `toolu_${int(1, 1e6)}`
        msgs.push({ role: 'assistant', content: [{ type: 'text', text: text() }, { type: 'tool_use', id, name: 'lookup', input: { q: text() } }] })
        msgs.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: chance(0.5) ? text() : [{ type: 'text', text: text() }] }] })
      } else if (native && chance(0.2)) msgs.push({ role: 'assistant', content: [{ type: 'thinking', thinking: text(), signature: 'sig' + 'A'.repeat(int(10, 200)) }, { type: 'text', text: text() }] })
      else msgs.push({ role: 'assistant', content: chance(0.5) ? text() : [{ type: 'text', text: text() }] })
    }
  }
  if (chance(0.15)) (msgs[0]!.content = [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: text() }, title: text() }, { type: 'text', text: text() }])
  if (native && chance(0.1)) (msgs[0]!.content = [{ type: 'search_result', source: 'https://docs.example/a', title: text(), content: [{ type: 'text', text: text() }], citations: { enabled: true } }, { type: 'text', text: text() }])
  return msgs
}

function responsesInput(tools: boolean, native: boolean): Json[] | string {
  if (chance(0.15)) return text()
  const items: Json[] = []
  for (let t = int(1, 4); t > 0; t--) {
    const parts: Json[] = Array.from({ length: int(1, 3) }, () =>
      chance(0.12) ? { type: 'input_image', image_url: `data:image/png;base64,${PNG}`, detail: pick(['low', 'high', 'auto']) } : { type: 'input_text', text: text() },
    )
    items.push(chance(0.3) ? { role: 'user', content: parts } : { type: 'message', role: 'user', content: parts })
    if (t > 1) {
      if (tools && chance(0.4)) {
        const id = `call_${int(1, 1e6)}`
        items.push({ type: 'function_call', call_id: id, name: 'lookup', arguments: JSON.stringify({ q: text() }) })
        items.push({ type: 'function_call_output', call_id: id, output: chance(0.6) ? text() : [{ type: 'input_text', text: text() }] })
      } else if (native && chance(0.3)) {
        items.push({ type: 'reasoning', id: `rs_${int(1, 1e6)}`, summary: [{ type: 'summary_text', text: text() }], ...(chance(0.5) ? { content: [{ type: 'reasoning_text', text: text() }] } : {}), encrypted_content: 'gAAAA' + 'b'.repeat(int(10, 300)) })
        items.push({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: text(), annotations: chance(0.3) ? [{ type: 'url_citation', url: 'https://a.example', title: text(), start_index: 0, end_index: 1 }] : [] }] })
      } else items.push({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: text(), annotations: [] }] })
    }
  }
  return items
}

const USERS = ['rich', 'rich', 'rich', 'poor-1', 'poor-2', 'poor-3']
const BUDGETS: Record<string, number> = { 'rich': 100_000, 'poor-1': 0.05, 'poor-2': 0.02, 'poor-3': 0.2 }

function generate(id: number): Case {
  const route = pick<Route>(['chat', 'messages', 'responses'])
  const tools = chance(0.4)
  const tag = `[case ${id}] `
  let model: string
  let body: Json
  if (route === 'chat') {
    model = pick(['plain:m', 'ant:m'])
    const messages = chatMessages(tools, model === 'plain:m')
    messages.unshift({ role: 'user', content: tag })
    body = { model, messages, ...(chance(0.7) ? { max_tokens: int(1, 300) } : {}), ...(tools ? { tools: chatTools() } : {}), }
  } else if (route === 'messages') {
    model = pick(['ant:m', 'plain:m'])
    const messages = anthropicMessages(tools, model === 'ant:m')
    messages.unshift({ role: 'user', content: tag }, { role: 'assistant', content: 'ok' })
    body = {
      model, messages, max_tokens: int(1, 300),
      ...(chance(0.5) ? { system: chance(0.5) ? text() : [{ type: 'text', text: text(), ...cache() }] } : {}),
      ...(tools ? { tools: [{ name: 'lookup', description: text(), input_schema: { type: 'object', properties: { q: { type: 'string' } } } }] } : {}),
    }
  } else {
    model = pick(['plain:m', 'rchat:m', 'ant:m'])
    const input = responsesInput(tools, model === 'plain:m')
    body = {
      model, input: typeof input === 'string' ? tag + input : [{ role: 'user', content: tag }, ...input], store: false,
      ...(chance(0.7) ? { max_output_tokens: int(16, 300) } : {}),
      ...(chance(0.4) ? { instructions: text() } : {}),
      ...(tools ? { tools: [{ type: 'function', name: 'lookup', description: text(), parameters: { type: 'object', properties: { q: { type: 'string' } } } }] } : {}),
    }
  }
  if (chance(0.4)) body.stream = true
  if (route !== 'messages' && chance(0.3)) body.service_tier = pick(['priority', 'flex', 'auto', 'default'])
  const media = heldAsMedia(body)
  return { id, route, model, body, user: pick(USERS), label: `${route}→${model}${tools ? ' tools' : ''}${media ? ' media' : ''}${route === 'chat' && JSON.stringify(body).includes('"type":"thinking"') ? ' mistral-think-chunk' : ''}`, media }
}

// ---- run ---------------------------------------------------------------------------------------------------------
let gw: TestGateway
let upstream: ScriptedUpstream
const secrets: Record<string, string> = {}

beforeAll(async () => {
  upstream = startScriptedUpstream()
  upstream.answer(answer)
  const providers = scriptedProviders(upstream)
  gw = await startTestGateway({
    config: {
      log_level: 'silent',
      metrics_enabled: true,
      providers: { ...providers, rchat: { ...providers.plain, responses: 'chat' } },
      pricing: { 'plain:m': { ...PRICE, service_tiers: TIERS }, 'rchat:m': { ...PRICE, service_tiers: TIERS }, 'ant:m': { ...PRICE, service_tiers: TIERS } },
      cap_output_tokens: true,
      default_max_output_tokens: 64,
    },
  })
  for (const u of new Set(USERS)) secrets[u] = (await gw.userWithKey({ id: u, max_budget: BUDGETS[u] })).secret
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

const PATH: Record<Route, string> = { chat: '/v1/chat/completions', messages: '/v1/messages', responses: '/v1/responses' }
const price = (u: Usage) => (u.input * PRICE.input_per_million + u.write * PRICE.input_per_million * 1.25 + u.output * PRICE.output_per_million) * (u.tier ? TIERS[u.tier]! : 1)

test('hold vs bill differential fuzz (cap-output on)', async () => {
  const started = performance.now()
  const failures: string[] = []
  const tally: Record<string, number> = {}
  const count = (k: string) => (tally[k] = (tally[k] ?? 0) + 1)
  const done: Array<{ c: Case; plan: Plan; status: number; rid: string | null; raw: string }> = []
  let n = 0
  while (n < CASES && performance.now() - started < RUN_BUDGET_MS) {
    const batch = Array.from({ length: Math.min(CONCURRENCY, CASES - n) }, () => generate(n++))
    await Promise.all(
      batch.map(async (c) => {
        const plan: Plan = { overreport: !c.media && chance(0.3), calls: [] }
        plans.set(String(c.id), plan)
        const res = await fetch(`${gw.url}${PATH[c.route]}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secrets[c.user]}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
          body: JSON.stringify(c.body),
        })
        const raw = await res.text()
        done.push({ c, plan, status: res.status, rid: res.headers.get('x-request-id'), raw })
        if (TRACE) console.log(`#${c.id} ${res.status} ${c.label} ${raw.slice(0, 160)}`)
      }),
    )
  }
  await gw.settled()
  const rowsBy = new Map<string, any[]>()
  for (const r of gw.query('SELECT * FROM usage') as any[]) if (r.request_id) rowsBy.set(r.request_id, [...(rowsBy.get(r.request_id) ?? []), r])
  for (const { c, plan, status, rid, raw } of done) {
    const fail = (p: string) => failures.push(`#${c.id} [${c.label}${plan.overreport ? ' overreport' : ''}] ${p}`)
    if (status >= 500 || status === 0) fail(`status ${status}: ${raw.slice(0, 200)}`)
    const rows = rid ? (rowsBy.get(rid) ?? []) : []
    if (plan.calls.length === 0) {
      count(`refused ${status}`)
      if (status === 200) fail('200 without a provider call')
      if (status !== 402) fail(`refused ${status}: ${raw.slice(0, 200)}`)
      if (rows.some((r) => r.cost > 0)) fail('charged without a provider call')
      continue
    }
    if (rows.length !== 1) {
      fail(`${plan.calls.length} call(s), ${rows.length} row(s)`)
      continue
    }
    const row = rows[0]
    const u = plan.calls[0]!
    const says = `(cost ${row.cost}, hold ${row.reserved}, prompt ${row.prompt_tokens}, completion ${row.completion_tokens}; provider said ${JSON.stringify(u)}; client ${status})`
    if (row.cost > row.reserved) fail(`charged past its hold ${says}`)
    if (status !== 200) fail(`status ${status}: ${raw.slice(0, 200)}`)
    if (plan.overreport) {
      count('overreport')
      if (row.cost >= price(u)) fail(`text alone, input over-reported: charged whole (not capped at the text held) ${says}`)
    } else {
      count(c.media ? 'plausible media' : 'plausible text')
      if (c.body.stream) count('served stream')
      if (u.tier) count(`served tier ${u.tier}`)
      if (u.write) count('served cache write')
      if (Math.abs(row.cost - price(u)) > 2) fail(`plausible usage priced at ${price(u)}, charged ${row.cost}: the hold did not cover it ${says}`)
    }
  }
  for (const u of new Set(USERS)) {
    const user = gw.query('SELECT spend, reserved FROM users WHERE id = ?', u)[0] as any
    if (user.reserved !== 0) failures.push(`after the run: ${u} reserved ${user.reserved}`)
    if (user.spend > Math.round(BUDGETS[u]! * 1e6)) failures.push(`after the run: ${u} spend ${user.spend} > max_budget ${BUDGETS[u]}`)
  }
  console.log(`hold fuzz seed ${SEED}: ${done.length} cases in ${((performance.now() - started) / 1000).toFixed(1)}s; ${JSON.stringify(tally)}`)
  if (failures.length) console.error(`IW FUZZ FAILED — seed ${SEED}: ${failures.length}\n${failures.slice(0, 30).join('\n')}`)
  expect(failures).toEqual([])
}, 120_000)
