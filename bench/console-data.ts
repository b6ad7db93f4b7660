/**
 * A database the size the console must stay fast on: `bun bench/console-data.ts <file> [usage rows] [users]`
 * (defaults 10,000,000 and 1,000). Users with budgets, two keys each, usage rows spread over the last 90
 * days across 24 models, refusal counts and a full unpriced-models record. Rows are written the way the
 * ledger writes them (same table, same indexes), in large transactions. Deterministic (seeded).
 */
import { openDatabase } from '../src/db/open'

const [file, rowsArg, usersArg] = process.argv.slice(2)
if (!file) throw new Error('usage: bun bench/console-data.ts <db file> [usage rows] [users]')
const ROWS = Number(rowsArg ?? 10_000_000)
const USERS = Number(usersArg ?? 1_000)
const DAYS = 90
const DAY_MS = 86_400_000

let seed = 42
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!

const db = openDatabase(file)
const client = db.$client
const now = Date.now()
const models = Array.from({ length: 24 }, (_, i) => `provider${i % 3}:model-${i}`)
const users = Array.from({ length: USERS }, (_, i) => `user-${String(i).padStart(4, '0')}`)

client.transaction(() => {
  const user = client.prepare(
    'INSERT INTO users (id, alias, max_budget, budget_period, spend, reserved, period_start, blocked, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, 0, ?, ?)',
  )
  const key = client.prepare(
    'INSERT INTO api_keys (id, user_id, name, key_hash, key_prefix, spend, reserved, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?)',
  )
  for (const id of users) {
    user.run(id, `Team ${id}`, 100_000_000, 'monthly', Math.floor(random() * 50_000_000), now - 30 * DAY_MS, now - DAYS * DAY_MS, now)
    for (const k of [0, 1]) key.run(`key_${id}_${k}`, id, `key ${k}`, `hash-${id}-${k}`, `tg-${id.slice(-4)}${k}`, now, now)
  }
  for (const m of models) client.prepare('INSERT INTO prices (model, input_per_million, output_per_million, created_at) VALUES (?, 1000000, 2000000, ?)').run(m, now - DAYS * DAY_MS)
})()

const insert = client.prepare(
  `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, price_id, status, latency_ms, stream)
   VALUES (?, ?, ?, ?, ?, ?, '/v1/chat/completions', ?, ?, 0, ?, ?, 1, ?, ?, 0)`,
)
const BATCH = 100_000
const started = performance.now()
for (let done = 0; done < ROWS; done += BATCH) {
  client.transaction(() => {
    for (let i = done; i < Math.min(ROWS, done + BATCH); i++) {
      // Ascending time, as a live gateway appends them.
      const at = now - DAYS * DAY_MS + Math.floor((i / ROWS) * DAYS * DAY_MS)
      const u = pick(users)
      const m = pick(models)
      const prompt = 50 + Math.floor(random() * 2000)
      const completion = Math.floor(random() * 800)
      const status = random() < 0.97 ? 'ok' : pick(['error', 'aborted'])
      insert.run(`req-${i}`, at, u, `key_${u}_${i & 1}`, m, m.split(':')[0]!, prompt, completion, prompt + 2 * completion, prompt + 8000, status, 200 + Math.floor(random() * 3000))
    }
  })()
  if ((done / BATCH) % 10 === 0) console.log(`${done + BATCH} rows, ${((performance.now() - started) / 1000).toFixed(0)} s`)
}

client.transaction(() => {
  const refusal = client.prepare('INSERT INTO refusal_counts (hour, code, count) VALUES (?, ?, ?)')
  for (let h = now - DAYS * DAY_MS; h < now; h += 3_600_000)
    for (const code of ['budget_exceeded', 'pricing_required', 'model_not_allowed', 'rate_limit_exceeded'])
      refusal.run(Math.floor(h / 3_600_000) * 3_600_000, code, Math.floor(random() * 20))
  const unpriced = client.prepare('INSERT INTO unpriced_models (model, requests, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?)')
  for (let i = 0; i < 500; i++) unpriced.run(`provider0:unpriced-${i}`, 1 + Math.floor(random() * 100), now - DAYS * DAY_MS, now - i * 60_000)
})()
client.exec('ANALYZE')
client.close()
console.log(`done: ${ROWS} usage rows, ${USERS} users in ${((performance.now() - started) / 1000).toFixed(0)} s → ${file}`)
