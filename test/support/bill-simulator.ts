/**
 * What the seeded bill simulators (test/bill-simulator*.test.ts) share. A bill simulator sends seeded random
 * requests through a real gateway (cap-output on) in front of a scripted provider that answers each with the
 * LARGEST usage it could legitimately bill and computes that bill by the providers' published rules (not from
 * src/pricing). Each case runs twice: a probe user reads the hold from x-budget-remaining, then a tight user whose
 * max_budget is that hold sends it again. Properties: (a) spend <= max_budget; (b) the settled cost equals the
 * provider's bill; (c) reserved returns to 0; (d) one usage row per request; and most generated cases are served.
 * Each simulator keeps its own generators, price rows and bill rules; here are the random draws, the provider's
 * token count and SSE framing, the provider that records calls and bills, and the runner's steps.
 */
import type { TestGateway } from './gateway'
import { seededRandom } from './seeded'

// ---------- seeded draws ----------

export type Rnd = () => number
export const pick = <T,>(r: Rnd, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!
export const maybe = (r: Rnd, p = 0.5) => r() < p

// ---------- the provider's count and framing ----------

export const utf8 = (s: string) => new TextEncoder().encode(s).length
/** A generous count of text tokens: every byte of every string in it (cache_control, type and role left out). */
export function textTokens(v: unknown): number {
  if (typeof v === 'string') return utf8(v)
  if (Array.isArray(v)) return v.reduce((n, x) => n + textTokens(x), 0)
  if (v && typeof v === 'object') {
    let n = 0
    for (const [k, x] of Object.entries(v)) if (k !== 'cache_control' && k !== 'type' && k !== 'role') n += textTokens(x)
    return n
  }
  return 0
}

export const sseResponse = (events: string[]) => new Response(events.join(''), { headers: { 'content-type': 'text/event-stream' } })
/** An unnamed SSE event (OpenAI chat chunks). */
export const dataEvent = (d: unknown) => `data: ${JSON.stringify(d)}\n\n`
/** An SSE event named by its type (Anthropic and Responses events). */
export const namedEvent = (d: any) => `event: ${d.type}\ndata: ${JSON.stringify(d)}\n\n`

/** An Anthropic message as its stream of events: text and server_tool_use blocks with one delta each. */
export function anthropicEvents(json: any): string[] {
  const { content, usage, ...rest } = json
  const ev: string[] = [namedEvent({ type: 'message_start', message: { ...rest, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } })]
  content.forEach((block: any, index: number) => {
    ev.push(namedEvent({ type: 'content_block_start', index, content_block: block.type === 'text' ? { type: 'text', text: '' } : block.type === 'server_tool_use' ? { ...block, input: {} } : block }))
    if (block.type === 'text') ev.push(namedEvent({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } }))
    if (block.type === 'server_tool_use') ev.push(namedEvent({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } }))
    ev.push(namedEvent({ type: 'content_block_stop', index }))
  })
  ev.push(namedEvent({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage }))
  ev.push(namedEvent({ type: 'message_stop' }))
  return ev
}

/** An incomplete Responses response as its stream of events: created, each item added and done, incomplete. */
export function responsesEvents(json: any): string[] {
  let seq = 0
  const ev = [namedEvent({ type: 'response.created', sequence_number: seq++, response: { ...json, status: 'in_progress', output: [], usage: null } })]
  json.output.forEach((item: any, output_index: number) => {
    ev.push(namedEvent({ type: 'response.output_item.added', sequence_number: seq++, output_index, item }))
    ev.push(namedEvent({ type: 'response.output_item.done', sequence_number: seq++, output_index, item }))
  })
  ev.push(namedEvent({ type: 'response.incomplete', sequence_number: seq++, response: json }))
  return ev
}

// ---------- the provider ----------

export interface ProviderCall { path: string; headers: Headers; body: any }
/** A provider's answer as JSON, and what it bills for it (µ$). */
export interface Answer { json: any; bill: number }
/** A simulator's bill rules: the answer to each route, and its chat answer as stream chunks. */
export interface BillRules {
  chat(body: any): Answer
  chatChunks(json: any): string[]
  messages(body: any, beta: string): Answer
  responses(body: any): Answer
}
export interface BillingProvider {
  url: string
  calls: ProviderCall[]
  /** Upstream call index → the bill for it (µ$). */
  bills: Map<number, number>
  stop(): void
}

/** A provider (Bun.serve on 127.0.0.1) that records every call and answers it by the rules, JSON or streamed. */
export function startBillingProvider(rules: BillRules): BillingProvider {
  const calls: ProviderCall[] = []
  const bills = new Map<number, number>()
  const answer = (path: string, headers: Headers, b: any): Response => {
    const i = calls.length - 1
    const route = path.endsWith('/chat/completions') ? 'chat' : path.endsWith('/messages') ? 'messages' : path.endsWith('/responses') ? 'responses' : null
    if (!route) return new Response('not found', { status: 404 })
    const { json, bill } = route === 'chat' ? rules.chat(b) : route === 'messages' ? rules.messages(b, headers.get('anthropic-beta') ?? '') : rules.responses(b)
    bills.set(i, bill)
    if (!b.stream) return Response.json(json)
    return sseResponse(route === 'chat' ? rules.chatChunks(json) : route === 'messages' ? anthropicEvents(json) : responsesEvents(json))
  }
  const server = Bun.serve({
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
  return { url: `http://127.0.0.1:${server.port}`, calls, bills, stop: () => server.stop(true) }
}

/** Providers `plain` (OpenAI) and `ant` (Anthropic) on the billing provider. */
export const simProviders = (url: string) => ({
  plain: { type: 'openai' as const, base_url: `${url}/v1`, api_key: 'sk-sim-secret-0123456789' },
  ant: { type: 'anthropic' as const, base_url: url, api_key: 'sk-ant-sim-secret-0123456789' },
})

// ---------- the runner ----------

export interface SimCase { path: string; body: any; headers: Record<string, string>; label: string }
export interface Violation { seed: number; label: string; body: string; what: string }

/** The probe user's max_budget (USD): large enough that nothing is refused for budget. */
export const PROBE_BUDGET = 1000

export async function sendCase(gw: TestGateway, secret: string, c: SimCase) {
  const res = await fetch(gw.url + c.path, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...c.headers }, body: JSON.stringify(c.body) })
  return { res, text: await res.text() }
}

/** What the gateway held for the probe's request (µ$), read from x-budget-remaining, less what the probe had spent before it. */
export const holdOf = (res: Response, spentBefore = 0) => Math.round((PROBE_BUDGET - Number(res.headers.get('x-budget-remaining'))) * 1e6) - spentBefore

export async function spendOf(gw: TestGateway, id: string): Promise<number> {
  return Math.round((await gw.admin('GET', `/v1/users/${id}`)).body.spend * 1e6)
}

/**
 * After the tight user's request has settled: (a) its spend within the budget, (c) nothing reserved, (d) `rows`
 * usage rows, and (b) exactly one upstream call since `callsBefore`, its last row costing what the provider billed.
 */
export async function settlementViolations(
  gw: TestGateway,
  provider: BillingProvider,
  o: { id: string; budget: number; rows: number; callsBefore: number; budgetNote?: string; billNote: (upstream: ProviderCall) => string },
): Promise<string[]> {
  const out: string[] = []
  const user = (await gw.admin('GET', `/v1/users/${o.id}`)).body
  const spend = Math.round(user.spend * 1e6)
  const rows = gw.query<{ cost: number; status: string }>('SELECT cost, status FROM usage WHERE user_id = ? ORDER BY rowid', o.id)
  const upstreamCalls = provider.calls.length - o.callsBefore
  if (spend > o.budget) out.push(`(a) spend ${spend} > max_budget ${o.budget}${o.budgetNote ?? ''}`)
  if (user.reserved !== 0) out.push(`(c) reserved ${user.reserved}`)
  if (rows.length !== o.rows) out.push(`(d) ${rows.length} usage rows`)
  if (upstreamCalls === 1) {
    const bill = provider.bills.get(o.callsBefore)!
    const row = rows.at(-1)
    if (row && row.cost !== bill) out.push(`(b) settled ${row.cost} µ$ (${row.status}) but the provider bills ${bill} µ$${o.billNote(provider.calls[o.callsBefore]!)}`)
  } else out.push(`${upstreamCalls} upstream calls`)
  return out
}

/** Runs SIM_CASES seeds (60) from SIM_SEED (1), each from its own seeded draw, and gathers their violations. */
export async function runSeeds(run: (seed: number, r: Rnd) => Promise<Violation[]>) {
  const seeds = Number(process.env.SIM_CASES ?? 60)
  const base = Number(process.env.SIM_SEED ?? 1)
  const violations: Violation[] = []
  for (let s = base; s < base + seeds; s++) violations.push(...(await run(s, seededRandom(s))))
  return { seeds, violations }
}
