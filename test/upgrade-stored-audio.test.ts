/**
 * Upgrading across 0013_stored_response_holds_audio. The previous version recorded stored response ids without
 * `holds_audio`, and 0013 gave every such row `false` (NOT NULL DEFAULT false): a response that version stored with
 * `input_audio` in it was taken, after the upgrade, to hold no audio, and a turn continuing it (`previous_response_id`)
 * was held at the text rate while the provider read the stored audio again and billed it at the audio rate: 1.60004
 * spent on a max_budget of 1, the loss 0a7dbc5 fixed for ids the new version records. 0017 makes those rows unknown
 * (null), held as audio input where the model prices it, as text where it does not (the gateway bills audio there at
 * the input rate); ids recorded from now on say true or false, and a chain continuing an unknown one stays unknown.
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
import { MASTER_KEY, tempDir } from './support/gateway'
import { jsonResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/** 20,015 tokens of context, 20,000 of them audio, stored by the previous version: sized, media counted, no audio flag. */
const OLD_CONTEXT = { context_tokens: 20_015, media_parts: 1, context_bytes: 20_040 }

let dir: string
let db: string
let upstream: ScriptedUpstream
let gateway: RunningGateway

/** The schema of the version before 0a7dbc5 (every migration before 0013), with a $1 user per test and an old id each. */
function previousVersionFile(): string {
  const previous = join(dir, 'drizzle-previous')
  cpSync(MIGRATIONS, previous, { recursive: true })
  const journal = JSON.parse(readFileSync(join(previous, 'meta', '_journal.json'), 'utf8'))
  journal.entries = journal.entries.filter((e: { idx: number }) => e.idx < 13)
  writeFileSync(join(previous, 'meta', '_journal.json'), JSON.stringify(journal))
  const path = join(dir, 'tollgate.db')
  const client = new Database(path, { create: true })
  migrate(drizzle({ client }), { migrationsFolder: previous })
  const now = Date.now()
  // u-audio spent $0.80 on one audio turn (20,000 audio tokens at $40/M) through the previous version.
  for (const [user, spend, id, model] of [['u-audio', 800_000, 'resp_old_audio', 'audio:m'], ['u-text', 0, 'resp_old_text', 'audio:m']] as const) {
    client.run(
      `INSERT INTO users (id, max_budget, budget_period, spend, reserved, period_start, blocked, created_at, updated_at) VALUES (?, 1000000, NULL, ?, 0, ?, 0, ?, ?)`,
      [user, spend, now, now, now],
    )
    client.run(
      `INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, expires_with, created_at)
       VALUES (?, 'response', ?, 'audio', ?, ?, ?, ?, NULL, ?)`,
      [id, user, model, OLD_CONTEXT.context_tokens, OLD_CONTEXT.media_parts, OLD_CONTEXT.context_bytes, now],
    )
  }
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
      master_key: MASTER_KEY, port: 0, db, log_level: 'warn', cap_output_tokens: true, default_max_output_tokens: 64,
      providers: { audio: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
      pricing: {
        'audio:m': { input_per_million: 1, output_per_million: 2, audio_input_per_million: 40 },
        // No audio input rate: audio is billed at the input rate there.
        'audio:text': { input_per_million: 1, output_per_million: 2 },
      },
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

const keyOf = async (user: string) => ((await (await admin('POST', '/v1/keys', { user_id: user })).json()) as { key: string }).key

/** The provider answers `id`, billing `inputTokens` of input, `audioTokens` of them audio. */
const answer = (id: string, inputTokens: number, audioTokens = 0) =>
  upstream.answer(() =>
    jsonResponse({
      id, object: 'response', status: 'completed', model: 'm',
      usage: { input_tokens: inputTokens, input_tokens_details: { cached_tokens: 0, audio_tokens: audioTokens }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: inputTokens + 5 },
      output: [{ type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    }),
  )

const respond = (key: string, body: object) =>
  fetch(`${gateway.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ max_output_tokens: 16, ...body }) })

const userSpend = async (user: string) => ((await (await admin('GET', `/v1/users/${user}`)).json()) as { spend: number; max_budget: number })

function holdsAudio(id: string): unknown {
  const client = new Database(db, { readonly: true })
  try {
    return (client.query('SELECT holds_audio FROM stored_responses WHERE id = ?').get(id) as { holds_audio: unknown } | null)?.holds_audio
  } finally {
    client.close()
  }
}

test('a response the previous version stored with audio in it is still audio input after the upgrade: spend stays within max_budget', async () => {
  const key = await keyOf('u-audio')
  // The provider reads the stored audio again: 20,000 audio tokens at $40/M ($0.80), where $0.20 is left.
  answer('resp_next_audio', 20_030, 20_000)
  const res = await respond(key, { model: 'audio:m', previous_response_id: 'resp_old_audio', input: 'And again?' })
  await res.text()
  const user = await userSpend('u-audio')
  expect({ status: res.status, spend: user.spend, withinBudget: user.spend <= user.max_budget }).toMatchObject({ status: 402, withinBudget: true })
})

test('on a model with no audio input rate, the same kind of id is served, held as text', async () => {
  const key = await keyOf('u-text')
  answer('resp_next_text', 20_030)
  const res = await respond(key, { model: 'audio:text', previous_response_id: 'resp_old_text', input: 'And again?' })
  expect(res.status).toBe(200)
  await res.text()
  // 20,030 input tokens and 5 output at $1/$2 per million: the text rate, nothing refused for audio.
  expect((await userSpend('u-text')).spend).toBe(0.02004)
})

test('ids recorded after the upgrade say whether they hold audio; one continuing an unknown id stays unknown', async () => {
  expect([holdsAudio('resp_old_audio'), holdsAudio('resp_old_text')]).toEqual([null, null])
  const key = await keyOf('u-text')
  answer('resp_own_text', 10)
  await (await respond(key, { model: 'audio:m', input: 'Hello' })).text()
  answer('resp_own_audio', 40, 30)
  await (await respond(key, { model: 'audio:m', input: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] })).text()
  expect([holdsAudio('resp_next_text'), holdsAudio('resp_own_text'), holdsAudio('resp_own_audio')]).toEqual([null, 0, 1])
})
