/**
 * A seeded chaos run, then the ledger's invariants checked exactly: two gateway processes on one database,
 * every inference route (JSON and streams, native and translated), clients cutting requests, a provider that
 * errs, resets, hangs, truncates and omits usage, admin changes landing in flight (prices set, scheduled and
 * removed, budgets and ceilings changed, keys revoked and rotated, users blocked and deleted, budget periods
 * changed) and the sweeper on a 1 s TTL. Then: each user's spend is the sum of its usage rows in the period,
 * each key's the sum of its rows; nothing left held; with cap-output on, spend within the largest budget or
 * ceiling ever set and every cost within its hold; every `ok` cost is its tokens at its price row, a price no older
 * than any change answered before the request arrived; every upstream call the client saw has a row. Runs on SQLite; with TOLLGATE_TEST_DATABASE_URL set (as
 * test/engines/stores.engine.ts does), on Postgres. CHAOS_SEED, CHAOS_REQUESTS, CHAOS_PROCS, CHAOS_CACHE_TTL.
 * (It found a settlement written after another process rolled the period dated in the ended one: see
 * test/settlement-after-roll.test.ts.)
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { spawnGateway, startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockBehavior, type MockProvider } from './support/mock-provider'
import { seededRandom } from './support/seeded'

const SEED = Number(process.env.CHAOS_SEED ?? 1)
const REQUESTS = Number(process.env.CHAOS_REQUESTS ?? 160)
/** 2: a second gateway process on the same database takes half the requests and admin changes. */
const PROCS = Number(process.env.CHAOS_PROCS ?? 2)

const gateways: TestGateway[] = []
const mocks: MockProvider[] = []
afterAll(async () => {
  for (const g of gateways) await g.stop()
  for (const m of mocks) await m.stop()
})

type Route = 'chat' | 'chat-stream' | 'messages' | 'messages-stream' | 'responses' | 'responses-stream' | 'embeddings'

const budgetsEver = new Map<string, number>() // user or key id → the largest budget it had (micro-USD)
/** Each price change the admin API answered: when its answer came, and when it took effect (a removal at once). */
const priceChanges: Array<{ model: string; answeredAt: number; effective: number }> = []

async function chaos(capOutput: boolean, seed: number) {
  budgetsEver.clear()
  priceChanges.length = 0
  const rnd = seededRandom(seed)
  const pick = <T,>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!
  const mock = startMockProvider({ chunks: 6, chunkDelayMs: 40, completionText: 'one two three four five six seven eight nine ten eleven twelve' })
  mocks.push(mock)
  const config = {
      cap_output_tokens: capOutput,
      default_max_output_tokens: 30,
      reservation_ttl_sec: 1,
      upstream_timeout_ms: 1500,
      upstream_idle_timeout_ms: 700,
      cache_ttl_ms: Number(process.env.CHAOS_CACHE_TTL ?? 0),
      pricing: {
        'mock:gpt-mock': { input_per_million: 1000, output_per_million: 2000 },
        'mockant:claude-mock': { input_per_million: 1500, output_per_million: 3000 },
        'mock:embed': { input_per_million: 500, output_per_million: 0 },
      },
  }
  const gw = await startTestGateway({ mock, config })
  gateways.push(gw)
  const others: TestGateway[] = []
  for (let i = 1; i < PROCS; i++) {
    const { pricing, ...rest } = config
    const g = await spawnGateway({ mock, dbPath: gw.dbPath, config: { pricing }, env: Object.fromEntries(Object.entries(rest).map(([k, v]) => [`TOLLGATE_${k.toUpperCase()}`, String(v)]).concat([['TOLLGATE_LOG_LEVEL', 'warn']])) })
    others.push(g)
    gateways.push(g)
  }
  const any = () => pick([gw, ...others])

  // Users: small budgets (a few holds each), one unlimited, one whose period ended yesterday with spend on it.
  const users = [
    { id: 'u-small', max_budget: 1, budget_period: 'daily' },
    { id: 'u-mid', max_budget: 3, budget_period: 'monthly' },
    { id: 'u-roll', max_budget: 0.6, budget_period: 'daily' },
    { id: 'u-free', max_budget: null },
  ]
  const keys: Array<{ user: string; id: string; secret: string }> = []
  for (const u of users) {
    const a = await gw.userWithKey(u)
    keys.push({ user: u.id, id: a.keyId, secret: a.secret })
    const b = await gw.admin('POST', '/v1/keys', { user_id: u.id, max_budget: 0.5 })
    keys.push({ user: u.id, id: b.body.id, secret: b.body.key })
  }
  // u-roll's period ended: its spend belongs to yesterday and the first request rolls it.
  const yesterday = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000
  gw.exec('UPDATE users SET period_start = ?, spend = ? WHERE id = ?', yesterday, 500_000, 'u-roll')

  const behaviors: MockBehavior[] = ['ok', 'ok', 'ok', 'ok', 'fail-500', 'truncated-sse', 'malformed-sse', 'no-usage', 'hang', 'reset', 'cut-body', 'slow-stream']
  const routes: Route[] = ['chat', 'chat-stream', 'messages', 'messages-stream', 'responses', 'responses-stream', 'embeddings']
  for (const u of users) if (u.max_budget !== null) budgetsEver.set(u.id, u.max_budget * 1e6)
  for (const k of keys) if (!budgetsEver.has(k.id)) budgetsEver.set(k.id, k.secret && keys.indexOf(k) % 2 === 1 ? 500_000 : Infinity)
  const statuses = new Map<number, number>()
  const tags = new Map<string, string | null>() // tag → request id (when the client saw headers)

  async function one(i: number) {
    const key = pick(keys)
    const route = pick(routes)
    const translated = rnd() < 0.4
    const maxTokens = pick([5, 10, 20, undefined])
    const cutAfter = rnd() < 0.3 ? Math.floor(rnd() * 400) : -1
    mock.queue(pick(behaviors))
    const tag = `req-${seed}-${i}`
    const text = `${tag} hello ${'x'.repeat(Math.floor(rnd() * 60))}`
    await Bun.sleep(Math.floor(rnd() * 1500))
    let path = '/v1/chat/completions'
    let body: Record<string, unknown>
    const headers: Record<string, string> = { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' }
    const stream = route.endsWith('-stream')
    if (route.startsWith('chat')) {
      body = { model: translated ? 'mockant:claude-mock' : 'mock:gpt-mock', messages: [{ role: 'user', content: text }], stream, ...(maxTokens ? { max_tokens: maxTokens } : {}) }
    } else if (route.startsWith('messages')) {
      path = '/v1/messages'
      headers['anthropic-version'] = '2023-06-01'
      body = { model: translated ? 'mock:gpt-mock' : 'mockant:claude-mock', max_tokens: maxTokens ?? 25, messages: [{ role: 'user', content: text }], stream }
    } else if (route.startsWith('responses')) {
      path = '/v1/responses'
      body = { model: translated ? 'mockant:claude-mock' : 'mock:gpt-mock', input: text, stream, store: false, ...(maxTokens ? { max_output_tokens: maxTokens + 16 } : {}) }
    } else {
      path = '/v1/embeddings'
      body = { model: 'mock:embed', input: [text, text + ' again'] }
    }
    const ctl = new AbortController()
    if (cutAfter >= 0) setTimeout(() => ctl.abort(), cutAfter)
    tags.set(tag, null)
    try {
      const res = await fetch(any().url + path, { method: 'POST', headers, body: JSON.stringify(body), signal: ctl.signal })
      tags.set(tag, res.headers.get('x-request-id'))
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      await res.text()
    } catch {}
  }

  async function setPrice(price: { model: string } & Record<string, unknown>) {
    const r = await any().admin('POST', '/v1/pricing', price)
    if (r.status === 201) priceChanges.push({ model: price.model, answeredAt: Date.now(), effective: Date.parse(r.body.effective_from) })
  }

  async function adminChaos(stopAt: number) {
    let n = 0
    while (Date.now() < stopAt) {
      await Bun.sleep(40 + Math.floor(rnd() * 80))
      const k = pick(keys)
      const u = pick(users)
      const what = Math.floor(rnd() * 12)
      n++
      if (what === 0) await setPrice({ model: pick(['mock:gpt-mock', 'mockant:claude-mock']), input_per_million: pick([500, 1000, 2000]), output_per_million: pick([1000, 2000, 4000]) })
      else if (what === 1) await setPrice({ model: pick(['mock:gpt-mock', 'mockant:claude-mock']), input_per_million: pick([700, 1300]), output_per_million: pick([1500, 2500]), effective_from: new Date(Date.now() + 5).toISOString() })
      else if (what === 2 && u.max_budget !== null) {
        const b = pick([0.1, 0.4, 0.8, 1.5])
        if ((await any().admin('PATCH', `/v1/users/${u.id}`, { max_budget: b })).status === 200) budgetsEver.set(u.id, Math.max(budgetsEver.get(u.id) ?? 0, b * 1e6))
      } else if (what === 3) {
        const b = pick([null, 0.05, 0.2, 0.6])
        if ((await any().admin('PATCH', `/v1/keys/${k.id}`, { max_budget: b })).status === 200) budgetsEver.set(k.id, b === null ? Infinity : Math.max(budgetsEver.get(k.id) ?? 0, b * 1e6))
      }
      else if (what === 4 && rnd() < 0.3) await any().admin('DELETE', `/v1/keys/${k.id}`)
      else if (what === 5) {
        const r = await any().admin('POST', `/v1/keys/${k.id}/rotate`)
        if (r.status === 200 || r.status === 201) k.secret = r.body.key
      } else if (what === 6) await any().admin('PATCH', `/v1/users/${u.id}`, { blocked: rnd() < 0.2 })
      else if (what === 7) await any().admin('PATCH', `/v1/users/${u.id}`, { blocked: false })
      else if (what === 9 && u.max_budget !== null) await any().admin('PATCH', `/v1/users/${u.id}`, { budget_period: pick(['daily', 'weekly', 'monthly', null]) })
      else if (what === 10) {
        const model = pick(['mock:gpt-mock', 'mockant:claude-mock'])
        if ((await any().admin('DELETE', `/v1/pricing/${model}`)).status === 200) {
          const answeredAt = Date.now()
          priceChanges.push({ model, answeredAt, effective: answeredAt })
        }
        await Bun.sleep(Math.floor(rnd() * 50))
        await setPrice({ model, input_per_million: pick([800, 1000]), output_per_million: pick([2000, 3000]) })
      } else if (what === 11 && rnd() < 0.15) await any().admin('DELETE', `/v1/users/${u.id}`)
      else if (what === 8) mock.options.chunkDelayMs = pick([0, 10, 40, 200, 450, 800])
    }
    return n
  }

  const t0 = Date.now()
  const admin = adminChaos(t0 + 2500)
  await Promise.all(Array.from({ length: REQUESTS }, (_, i) => one(i)))
  await admin
  // Let every stream, timeout and the sweeper finish.
  await Bun.sleep(2500)
  for (const g of [gw, ...others]) await g.settled()
  console.log(JSON.stringify([...statuses]))
  return { gw, mock, tags }
}

function invariants(gw: TestGateway, mock: MockProvider, tags: Map<string, string | null>, capOutput: boolean) {
  const problems: string[] = []
  const n = (v: unknown) => Number(v ?? 0)
  const holds = gw.query('SELECT id, user_id, amount FROM reservations')
  if (holds.length) problems.push(`holds left: ${JSON.stringify(holds)}`)
  for (const u of gw.query('SELECT id, spend, reserved, max_budget, period_start FROM users')) {
    const [{ s }] = gw.query('SELECT COALESCE(SUM(cost), 0) AS s FROM usage WHERE user_id = ? AND created_at >= ?', u.id, u.period_start)
    if (n(s) !== n(u.spend)) problems.push(`user ${u.id}: spend ${u.spend} != sum of its usage rows ${s}`)
    if (n(u.reserved) !== 0) problems.push(`user ${u.id}: reserved ${u.reserved}`)
    if (capOutput && budgetsEver.has(u.id) && n(u.spend) > budgetsEver.get(u.id)!) problems.push(`user ${u.id}: spend ${u.spend} > every max_budget it had (${budgetsEver.get(u.id)})`)
  }
  for (const k of gw.query('SELECT id, spend, reserved, max_budget FROM api_keys')) {
    const [{ s }] = gw.query('SELECT COALESCE(SUM(cost), 0) AS s FROM usage WHERE key_id = ?', k.id)
    if (n(s) !== n(k.spend)) problems.push(`key ${k.id}: spend ${k.spend} != sum of its usage rows ${s}`)
    if (n(k.reserved) !== 0) problems.push(`key ${k.id}: reserved ${k.reserved}`)
    if (capOutput && n(k.spend) > (budgetsEver.get(k.id) ?? Infinity)) problems.push(`key ${k.id}: spend ${k.spend} > every ceiling it had (${budgetsEver.get(k.id)})`)
  }
  const allPrices = gw.query('SELECT id, model, created_at FROM prices')
  // A request that arrives after a price change was answered is priced by that change or a later one (README, Key
  // cache). Its arrival: its request-log row's time less the latency it records (2 ms allowed for their rounding).
  const arrivals = new Map(gw.query('SELECT request_id, created_at, latency_ms FROM api_request_log').map((l: any) => [l.request_id, n(l.created_at) - n(l.latency_ms)]))
  let dated = 0
  for (const r of gw.query("SELECT request_id, model, price_id, created_at FROM usage WHERE status <> 'expired' AND price_id IS NOT NULL")) {
    const cited = allPrices.find((p: any) => n(p.id) === n(r.price_id))
    if (!cited) continue
    if (n(cited.created_at) > n(r.created_at)) problems.push(`row ${r.request_id}: price ${r.price_id} took effect after the row`)
    const arrived = arrivals.get(r.request_id)
    if (arrived === undefined) continue
    dated++
    const known = priceChanges.filter((c) => c.model === r.model && c.answeredAt < arrived - 2 && c.effective < arrived - 2)
    const latest = known.reduce((at, c) => Math.max(at, c.effective), -Infinity)
    if (n(cited.created_at) < latest) problems.push(`row ${r.request_id}: cites price ${r.price_id} of ${n(cited.created_at)}, though a change answered before the request arrived (${arrived}) took effect at ${latest}`)
  }
  if (dated === 0) problems.push('no priced usage row has a request-log row to date its arrival by')
  const rows = gw.query('SELECT request_id, endpoint, model, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, price_id, status FROM usage')
  const prices = new Map(gw.query('SELECT id, input_per_million, output_per_million FROM prices').map((p: any) => [n(p.id), p]))
  for (const r of rows) {
    if (capOutput && n(r.cost) > n(r.reserved)) problems.push(`row ${r.request_id} (${r.endpoint} ${r.model} ${r.status}): cost ${r.cost} > hold ${r.reserved}`)
    if (r.status === 'ok') {
      const p = prices.get(n(r.price_id))
      if (!p) {
        problems.push(`row ${r.request_id}: ok without a price row (${r.price_id})`)
        continue
      }
      const want = Math.ceil((n(r.prompt_tokens) * n(p.input_per_million) + n(r.completion_tokens) * n(p.output_per_million)) / 1e6)
      // No usage reported: the whole hold (SPEC §6), its row counting the tokens the hold priced at the dearest input
      // rate the request could incur (README: a cache write's, on /v1/messages), so never less than those at the base rate.
      if (n(r.cost) === n(r.reserved) && want <= n(r.cost)) continue
      if (want !== n(r.cost)) problems.push(`row ${r.request_id} (${r.endpoint} ${r.model}): cost ${r.cost} != ${want} at price ${r.price_id}`)
    }
  }
  // Every upstream call the mock saw has a usage row (where the client learned its request id).
  const ids = new Set(rows.map((r: any) => r.request_id))
  const inference = mock.calls.filter((c) => /\/v1\/(chat\/completions|messages|responses|embeddings)$/.test(c.path))
  for (const c of inference) {
    const tag = /req-\d+-\d+/.exec(JSON.stringify(c.body))?.[0]
    const id = tag ? tags.get(tag) : undefined
    if (id && !ids.has(id)) problems.push(`upstream call ${tag} (${c.path}) has no usage row ${id}`)
  }
  if (rows.length < inference.length) problems.push(`${inference.length} upstream calls but ${rows.length} usage rows`)
  return problems
}

describe('chaos: accounting invariants', () => {
  for (const capOutput of [true, false]) {
    test(`cap-output ${capOutput ? 'on' : 'off'}, seed ${SEED}`, async () => {
      const { gw, mock, tags } = await chaos(capOutput, SEED)
      const problems = invariants(gw, mock, tags, capOutput)
      const summary = gw.query('SELECT status, COUNT(*) AS n, SUM(cost) AS cost FROM usage GROUP BY status')
      console.log(JSON.stringify({ capOutput, calls: mock.calls.length, summary }))
      expect(problems).toEqual([])
    }, 60_000)
  }
})
