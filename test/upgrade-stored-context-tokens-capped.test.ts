/**
 * Versions before 77360a0 recorded a provider's token count as it came (1e19, which SQLite keeps as a REAL), the
 * size of a stored response included. 0027 reads such counts in usage rows as today's gateway reads them, at most
 * a billion (MAX_TOKEN_COUNT), and `tollgate migrate` carries a stored response's size to Postgres the same way; a
 * SQLite file kept its 1e19, which held the context of a `previous_response_id` continuation at 1e19 tokens: the
 * chain refused for good as costing a million dollars, "lower max_tokens" whatever its max_tokens. Read as a billion
 * it is held as any other context of that size.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { chmodSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { migrate } from 'drizzle-orm/bun-sqlite/migrator'
import { MIGRATIONS } from '../src/db/open'
import { startGateway, type RunningGateway } from '../src/server'
import { configSchema } from '../src/config/schema'
import { MAX_TOKEN_COUNT } from '../src/records/token-count'
import { MASTER_KEY, tempDir } from './support/gateway'
import { jsonResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { waitFor } from './support/wait-for'

let dir: string
let db: string
let upstream: ScriptedUpstream
let gateway: RunningGateway

/** A file of the version before (every migration up to 0027), with a $2,000 user and a response it stored sized 1e19. */
function previousVersionFile(): string {
  const previous = join(dir, 'drizzle-previous')
  cpSync(MIGRATIONS, previous, { recursive: true })
  const journal = JSON.parse(readFileSync(join(previous, 'meta', '_journal.json'), 'utf8'))
  journal.entries = journal.entries.filter((e: { idx: number }) => e.idx <= 27)
  writeFileSync(join(previous, 'meta', '_journal.json'), JSON.stringify(journal))
  const path = join(dir, 'tollgate.db')
  const client = new Database(path, { create: true })
  migrate(drizzle({ client }), { migrationsFolder: previous })
  const now = Date.now()
  client.run(
    `INSERT INTO users (id, max_budget, budget_period, spend, reserved, period_start, blocked, created_at, updated_at) VALUES ('u', 2000000000, NULL, 0, 0, ?, 0, ?, ?)`,
    [now, now, now],
  )
  client.run(
    `INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, holds_audio, expires_with, created_at)
     VALUES ('resp_enormous', 'response', 'u', 'up', 'up:m', 1e19, 0, 40, 0, NULL, ?)`,
    [now],
  )
  client.close()
  chmodSync(path, 0o600)
  return path
}

beforeAll(async () => {
  dir = tempDir()
  upstream = startScriptedUpstream()
  db = previousVersionFile()
  gateway = await startGateway(
    configSchema.parse({
      master_key: MASTER_KEY, port: 0, db, log_level: 'warn',
      providers: { up: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
      // A micro-dollar a token in, two out.
      pricing: { 'up:m': { input_per_million: 1, output_per_million: 2 } },
    }),
  )
})

afterAll(async () => {
  await gateway?.stop()
  await upstream?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const admin = (method: string, path: string, body?: unknown) =>
  fetch(gateway.url + path, { method, headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })

test('a continuation of a response stored sized 1e19 is held for a billion tokens of context, not refused as costing a million dollars', async () => {
  const key = ((await (await admin('POST', '/v1/keys', { user_id: 'u' })).json()) as { key: string }).key
  upstream.answer(() =>
    jsonResponse({
      id: 'resp_next', object: 'response', status: 'completed', model: 'm',
      usage: { input_tokens: 30, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 35 },
      output: [{ type: 'message', id: 'msg_next', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    }),
  )
  const res = await fetch(`${gateway.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'up:m', previous_response_id: 'resp_enormous', input: 'And then?', max_output_tokens: 16 }),
  })
  const body = await res.text()
  expect({ status: res.status, body: res.status === 200 ? '' : body }).toEqual({ status: 200, body: '' })
  const reader = new Database(db, { readonly: true })
  try {
    const held = () => (reader.query('SELECT reserved FROM usage').get() as { reserved: number } | null)?.reserved
    await waitFor(5_000, () => held() !== undefined)
    // The context's billion tokens at a micro-dollar each, and the turn's own few.
    expect(held()).toBeGreaterThanOrEqual(MAX_TOKEN_COUNT)
    expect(held()).toBeLessThan(MAX_TOKEN_COUNT + 1_000)
  } finally {
    reader.close()
  }
})
