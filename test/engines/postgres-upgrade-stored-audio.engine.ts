/**
 * The Postgres side of upgrade-stored-audio.test.ts: drizzle-pg/0012 gave every stored response id recorded before
 * it `holds_audio = false`, and a turn continuing one the previous version stored with audio in it was held at the
 * text rate while the provider billed the audio again (past max_budget). 0016 makes those rows unknown (null), held
 * as audio input on a model that prices it; with no default, a row an old replica inserts without the column (a
 * rolling deploy) is unknown too.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { configSchema } from '../../src/config/schema'
import { startGateway } from '../../src/server'
import { MASTER_KEY } from '../support/gateway'
import { jsonResponse, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { postgresMigratedThrough } from './support/old-schema'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
})
afterAll(async () => {
  await upstream?.stop()
  await pg?.destroy()
})

test('an id the previous version stored with audio is audio input after the upgrade (spend within max_budget), and one an old replica writes is unknown', async () => {
  const url = await pg.database('stored_audio')
  // The schema before 0012_stored_response_holds_audio, and what that version recorded: $0.80 of $1 spent on a
  // 20,000-token audio turn, stored sized and with its media counted.
  await postgresMigratedThrough(url, 11)
  const sql = new Bun.SQL(url)
  try {
    const now = Date.now()
    await sql`INSERT INTO users (id, max_budget, spend, reserved, period_start, blocked, created_at, updated_at) VALUES ('u-audio', 1000000, 800000, 0, ${now}, false, ${now}, ${now})`
    await sql`INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, created_at)
              VALUES ('resp_old_audio', 'response', 'u-audio', 'audio', 'audio:m', 20015, 1, 20040, ${now})`

    const gateway = await startGateway(
      configSchema.parse({
        master_key: MASTER_KEY, port: 0, database_url: url, log_level: 'warn', cap_output_tokens: true, default_max_output_tokens: 64,
        providers: { audio: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
        pricing: { 'audio:m': { input_per_million: 1, output_per_million: 2, audio_input_per_million: 40 } },
      }),
    )
    try {
      const admin = (method: string, path: string, body?: unknown) =>
        fetch(gateway.url + path, { method, headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
      const { key } = (await (await admin('POST', '/v1/keys', { user_id: 'u-audio' })).json()) as { key: string }
      // The provider reads the stored audio again: 20,000 audio tokens at $40/M ($0.80), where $0.20 is left.
      upstream.answer(() =>
        jsonResponse({
          id: 'resp_next', object: 'response', status: 'completed', model: 'm',
          usage: { input_tokens: 20_030, input_tokens_details: { cached_tokens: 0, audio_tokens: 20_000 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 20_035 },
          output: [{ type: 'message', id: 'msg_next', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
        }),
      )
      const res = await fetch(`${gateway.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'audio:m', max_output_tokens: 16, previous_response_id: 'resp_old_audio', input: 'And again?' }),
      })
      await res.text()
      const user = (await (await admin('GET', '/v1/users/u-audio')).json()) as { spend: number; max_budget: number }
      expect({ status: res.status, withinBudget: user.spend <= user.max_budget }).toEqual({ status: 402, withinBudget: true })
    } finally {
      await gateway.stop()
    }

    // An old replica, still serving in a rolling deploy, records an id the way 0012's version did: no holds_audio.
    await sql`INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, created_at)
              VALUES ('resp_old_replica', 'response', 'u-audio', 'audio', 'audio:m', 10, 0, 10, ${now})`
    const rows = await sql`SELECT id, holds_audio FROM stored_responses ORDER BY id`
    expect([...rows]).toEqual([
      { id: 'resp_old_audio', holds_audio: null },
      { id: 'resp_old_replica', holds_audio: null },
    ])
  } finally {
    await sql.close()
  }
})
