/**
 * `stored_responses` gets a row for every response a provider stores (the Responses API stores by default) and
 * one for every item of its output. The ids are of use only while the provider keeps the response: OpenAI (and
 * xAI) keep a stored Response 30 days, and a row past that names nothing the provider has. So rows of responses,
 * and of the items that go with them, older than `responses_retention_days` (default 60, twice the provider's
 * TTL) are pruned, at startup and hourly, as the request log is; the table does not grow for ever.
 *
 * A container's row goes likewise: OpenAI forgets a container once it has been idle for minutes; so does a chat
 * answer's audio, which OpenAI keeps for hours.
 * A conversation has no TTL at the provider, nor do the items of its turns (they outlive their response): an
 * item's row is what makes a request naming it by id be held for it, so those are kept. DELETE of a response
 * takes its items with it once the provider deleted it, a conversation turn's items excepted.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { loadConfig } from '../src/config/load'
import { startGateway } from '../src/server'
import { MASTER_KEY, mockProviders, tempDir, testConfig } from './support/gateway'
import { startMockProvider } from './support/mock-provider'
import { jsonResponse, scriptedProviders, startScriptedUpstream } from './support/scripted-upstream'
import { databaseFor, execPostgres, queryPostgres, TEST_DATABASE_URL } from './support/test-store'
import { Database } from 'bun:sqlite'

const mock = startMockProvider()
const upstream = startScriptedUpstream()
const dirs: string[] = []
afterAll(async () => {
  await mock.stop()
  await upstream.stop()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
const DAY_MS = 86_400_000
const master = { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }

/** A gateway's database that outlives the gateway (restarted on it), on whichever store the suites run. */
async function database(config: Record<string, unknown> = {}) {
  const dir = tempDir()
  dirs.push(dir)
  const settings = testConfig(
    {
      mock,
      config: {
        providers: { ...mockProviders(mock), ...scriptedProviders(upstream) },
        pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'plain:m': { input_per_million: 1, output_per_million: 2 } },
        ...config,
      },
    },
    dir,
  )
  if (TEST_DATABASE_URL) settings.database_url = await databaseFor(settings.db)
  const url = settings.database_url
  const query = <T = any>(sql: string, ...params: unknown[]): T[] => {
    if (url) return queryPostgres(url, sql, params)
    const db = new Database(settings.db, { readonly: true })
    try {
      return db.query(sql).all(...(params as any[])) as T[]
    } finally {
      db.close()
    }
  }
  const exec = (sql: string, ...params: unknown[]) => {
    if (url) return execPostgres(url, sql, params)
    const db = new Database(settings.db)
    try {
      db.run(sql, params as any[])
    } finally {
      db.close()
    }
  }
  const count = (where = 'TRUE') => Number(query<{ n: number }>(`SELECT count(*) AS n FROM stored_responses WHERE ${where}`)[0]!.n)
  const ids = () => query<{ id: string }>('SELECT id FROM stored_responses ORDER BY id').map((r) => r.id)
  /** Ages rows by `days` behind the gateway's back. */
  const age = (rowIds: string[], days: number) =>
    exec(`UPDATE stored_responses SET created_at = created_at - ? WHERE id IN (${rowIds.map(() => '?').join(', ')})`, days * DAY_MS, ...rowIds)
  return { config: settings, query, exec, count, ids, age, start: () => startGateway(settings) }
}

async function userKey(url: string, id: string) {
  await fetch(`${url}/v1/users`, { method: 'POST', headers: master, body: JSON.stringify({ id }) })
  const key = (await (await fetch(`${url}/v1/keys`, { method: 'POST', headers: master, body: JSON.stringify({ user_id: id }) })).json()) as { key: string }
  return { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' }
}

const answer = (id: string, items: string[], extra: Record<string, unknown> = {}) =>
  jsonResponse({
    id, object: 'response', status: 'completed', model: 'm', ...extra,
    usage: { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 },
    output: items.map((item) => ({ type: 'message', id: item, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] })),
  })

/** A Responses call through `url` that the scripted provider answers with `id`, its `items`, and `extra`. */
async function respond(url: string, auth: Record<string, string>, id: string, items: string[], extra: Record<string, unknown> = {}, body: Record<string, unknown> = {}) {
  upstream.answer(() => answer(id, items, extra))
  const res = await fetch(`${url}/v1/responses`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'plain:m', input: 'hi', ...body }) })
  return { status: res.status, body: (await res.json()) as any }
}

test('stored response and item rows far older than any provider keeps them are pruned, not kept for ever', async () => {
  const store = await database()
  let gw = await store.start()
  const auth = await userKey(gw.url, 'u')
  const N = 20
  for (let i = 0; i < N; i++) {
    const res = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'mock:gpt-mock', input: `hello ${i}` }) })
    expect(res.status).toBe(200)
    await res.text()
  }
  await gw.stop()

  const recorded = store.count()
  expect(store.count("kind = 'conversation'")).toBe(0)
  expect(recorded).toBeGreaterThanOrEqual(N) // a row per response, and more for its items
  // Half of them made 90 days ago: long gone from the provider. The other half recent.
  store.age(store.ids().filter((_, i) => i % 2 === 0), 90)
  const old = store.count(`created_at < ${Date.now() - 60 * DAY_MS}`)
  expect(old).toBeGreaterThan(0)

  // A gateway started on the database, as after a restart (every retention prune runs at startup, then hourly).
  gw = await store.start()
  await Bun.sleep(500)
  await gw.stop()

  const left = store.count()
  const leftOld = store.count(`created_at < ${Date.now() - 60 * DAY_MS}`)
  expect({ recorded, left, leftOld }).toEqual({ recorded, left: recorded - old, leftOld: 0 })
}, 60_000)

test('a conversation and the items of its turns are kept past the retention; its turns’ response rows go', async () => {
  const store = await database()
  let gw = await store.start()
  const auth = await userKey(gw.url, 'c')
  expect((await respond(gw.url, auth, 'resp_turn', ['msg_turn'], { conversation: { id: 'conv_kept' } })).status).toBe(200)
  expect((await respond(gw.url, auth, 'resp_alone', ['msg_alone'])).status).toBe(200)
  await gw.stop()
  expect(store.ids()).toEqual(['conv_kept', 'msg_alone', 'msg_turn', 'resp_alone', 'resp_turn'])
  store.age(store.ids(), 90)

  gw = await store.start()
  await Bun.sleep(500)
  try {
    expect(store.ids()).toEqual(['conv_kept', 'msg_turn'])
    // The turn's item is still the provider's (its conversation keeps it): named by id, it is still held for.
    const next = await respond(gw.url, auth, 'resp_next', [], {}, { store: false, input: [{ type: 'item_reference', id: 'msg_turn' }] })
    expect(next.status).toBe(200)
    // The other response's item is gone with its response, at the provider and here: refused before any call.
    const calls = upstream.calls.length
    const gone = await respond(gw.url, auth, 'resp_never', [], {}, { input: [{ type: 'item_reference', id: 'msg_alone' }] })
    expect({ status: gone.status, code: gone.body.error?.code, calls: upstream.calls.length }).toEqual({ status: 404, code: 'item_not_found', calls })
  } finally {
    await gw.stop()
  }
}, 60_000)

test('a container row past the retention is pruned (OpenAI forgets a container idle for minutes); a recent one stays', async () => {
  const store = await database({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { code_interpreter: 0.03 } } } })
  let gw = await store.start()
  const auth = await userKey(gw.url, 'k')
  for (const container of ['cntr_old', 'cntr_recent']) {
    upstream.answer(() =>
      jsonResponse({
        id: `resp_${container}`, object: 'response', status: 'completed', model: 'm',
        usage: { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 },
        output: [{ id: `ci_${container}`, type: 'code_interpreter_call', status: 'completed', code: 'print(1)', container_id: container, outputs: null }],
      }),
    )
    const res = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'plain:m', input: 'hi', store: false, tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] }) })
    expect(res.status).toBe(200)
    await res.text()
  }
  await gw.stop()
  expect(store.ids()).toEqual(['cntr_old', 'cntr_recent'])
  store.age(['cntr_old'], 90)
  gw = await store.start()
  await Bun.sleep(500)
  await gw.stop()
  expect(store.ids()).toEqual(['cntr_recent'])
}, 60_000)

test("a chat answer's audio row past the retention is pruned (OpenAI keeps the audio for hours); a recent one stays", async () => {
  const store = await database({ pricing: { 'plain:audio': { input_per_million: 2.5, output_per_million: 10, audio_input_per_million: 40, audio_output_per_million: 80 } } })
  let gw = await store.start()
  const auth = await userKey(gw.url, 'a')
  for (const audio of ['audio_old', 'audio_recent']) {
    upstream.answer(() =>
      jsonResponse({
        id: `chatcmpl-${audio}`, object: 'chat.completion', created: 1, model: 'audio',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: null, audio: { id: audio, expires_at: 4102444800, data: 'UklGRg==', transcript: 'Hi.' } } }],
        usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30, completion_tokens_details: { audio_tokens: 15 } },
      }),
    )
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: auth,
      body: JSON.stringify({ model: 'plain:audio', max_completion_tokens: 64, modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' }, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  }
  await gw.stop()
  expect(store.ids()).toEqual(['audio_old', 'audio_recent'])
  store.age(['audio_old'], 90)
  gw = await store.start()
  await Bun.sleep(500)
  await gw.stop()
  expect(store.ids()).toEqual(['audio_recent'])
}, 60_000)

test('retention 0 keeps every row; a shorter one prunes sooner', async () => {
  for (const [days, expected] of [
    [0, ['msg_r', 'resp_r']],
    [31, []],
  ] as const) {
    const store = await database({ responses_retention_days: days })
    let gw = await store.start()
    const auth = await userKey(gw.url, 'r')
    expect((await respond(gw.url, auth, 'resp_r', ['msg_r'])).status).toBe(200)
    await gw.stop()
    store.age(store.ids(), 40)
    gw = await store.start()
    await Bun.sleep(500)
    await gw.stop()
    expect({ days, left: store.ids() }).toEqual({ days, left: [...expected] })
  }
}, 60_000)

describe('DELETE /v1/responses/{id}', () => {
  test('takes the response’s items with it; a conversation turn’s items, and everything of a delete the provider refused, stay', async () => {
    const store = await database()
    const gw = await store.start()
    try {
      const auth = await userKey(gw.url, 'd')
      await respond(gw.url, auth, 'resp_del', ['msg_del_1', 'msg_del_2'])
      await respond(gw.url, auth, 'resp_conv', ['msg_conv'], { conversation: { id: 'conv_d' } })
      await respond(gw.url, auth, 'resp_fail', ['msg_fail'])
      const del = async (id: string, status: number) => {
        upstream.answer(() => (status === 200 ? jsonResponse({ id, object: 'response', deleted: true }) : jsonResponse({ error: { message: 'boom' } }, status)))
        const res = await fetch(`${gw.url}/v1/responses/${id}`, { method: 'DELETE', headers: auth })
        await res.text()
        return res.status
      }
      expect(await del('resp_del', 200)).toBe(200)
      expect(await del('resp_conv', 200)).toBe(200)
      expect(await del('resp_fail', 500)).not.toBe(200)
      // An item of the deleted response is refused as one never stored, before any call (the lookup writes
      // what is queued first: forgetting is written in the background).
      const calls = upstream.calls.length
      const gone = await respond(gw.url, auth, 'resp_never', [], {}, { input: [{ type: 'item_reference', id: 'msg_del_1' }] })
      expect({ status: gone.status, code: gone.body.error?.code, calls: upstream.calls.length }).toEqual({ status: 404, code: 'item_not_found', calls })
      expect(store.ids()).toEqual(['conv_d', 'msg_conv', 'msg_fail', 'resp_fail'])
    } finally {
      await gw.stop()
    }
  }, 60_000)
})

test('TOLLGATE_RESPONSES_RETENTION_DAYS: 60 by default, a whole number of days, 0 allowed', () => {
  expect(loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY }).responses_retention_days).toBe(60)
  expect(loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_RESPONSES_RETENTION_DAYS: '0' }).responses_retention_days).toBe(0)
  for (const bad of ['-1', '1.5', '', 'never'])
    expect(() => loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_RESPONSES_RETENTION_DAYS: bad })).toThrow('responses_retention_days (TOLLGATE_RESPONSES_RETENTION_DAYS)')
})

// Shorter than the provider keeps a stored response, an item forgotten here is refused while the provider still serves it.
test('TOLLGATE_RESPONSES_RETENTION_DAYS: 1 to 30 days are refused, 31 is allowed', () => {
  for (const short of ['1', '5', '30'])
    expect(() => loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_RESPONSES_RETENTION_DAYS: short })).toThrow('must be 0 (keep them) or at least 31')
  expect(loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_RESPONSES_RETENTION_DAYS: '31' }).responses_retention_days).toBe(31)
})
