/**
 * On SQLite with TOLLGATE_WORKERS, the ids of a stored Responses answer must be in the file before the client gets
 * them: its next request may reach a sibling worker. Another process holding the file's write lock past the busy
 * timeout (an operator's sqlite3 shell, a backup) kept them in this worker's queue, and the failed write was
 * swallowed: the client was given ids no sibling could find. Now the answer is withheld (503 database_busy, paid by
 * its usage), as on Postgres (test/engines/responses-stored-ids-under-lock.engine.ts); and a lookup of an id not
 * found while the file takes no writes is a 503 too, not a 404: a sibling may be waiting to write it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { BUSY_TIMEOUT_MS } from '../src/db/open'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({ config: { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } } } })
  ;({ secret } = await gw.userWithKey({ id: 'file-locked' }))
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

/** Takes the file's write lock from another connection now, and lets it go after `ms`. */
function holdWriteLock(ms: number): Promise<void> {
  const other = new Database(gw.dbPath)
  other.exec('BEGIN IMMEDIATE')
  return Bun.sleep(ms).then(() => {
    other.exec('ROLLBACK')
    other.close()
  })
}

const post = (body: unknown) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('the file locked past the busy timeout as the answer comes: it is withheld with a 503 database_busy the SDKs do not retry, and paid by its usage', async () => {
  let held: Promise<void> = Promise.resolve()
  // The hold is written; the lock is taken as the provider answers, and kept past the busy timeout.
  upstream.answer(() => {
    held = holdWriteLock(BUSY_TIMEOUT_MS + 1_000)
    return jsonResponse({
      id: 'resp_locked', object: 'response', created_at: 1, status: 'completed', model: 'm', store: true,
      output: [{ id: 'msg_locked', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text: 'ok' }] }],
      usage: { input_tokens: 20, input_tokens_details: { cached_tokens: 0 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 21 },
    })
  })
  const res = await post({ model: 'plain:m', input: 'hello', max_output_tokens: 16 })
  const body = (await res.json()) as any
  await held
  // A paid error: each silent retry of an SDK's would be paid again.
  expect({ status: res.status, code: body.error?.code, shouldRetry: res.headers.get('x-should-retry'), retryAfter: res.headers.get('retry-after'), id: body.id })
    .toEqual({ status: 503, code: 'database_busy', shouldRetry: 'false', retryAfter: null, id: undefined })
  await gw.settled()
  expect(gw.query("SELECT cost, status FROM usage WHERE user_id = 'file-locked'")).toEqual([{ cost: 21, status: 'error' }])
  // Written once the lock went: a retry of the chain finds it.
  expect(gw.query("SELECT count(*) AS n FROM stored_responses WHERE id = 'resp_locked'")[0].n).toBe(1)
}, 30_000)

test('an id not found while the file takes no writes is a 503 database_busy, not a 404; a 404 once it does', async () => {
  // Nothing of this process's own left queued (its lookup would wait for the lock to write it first).
  await gw.settled()
  await Bun.sleep(50)
  const held = holdWriteLock(500)
  const locked = await fetch(`${gw.url}/v1/responses/resp_unwritten`, { headers: { authorization: `Bearer ${secret}` } })
  await held
  const free = await fetch(`${gw.url}/v1/responses/resp_unwritten`, { headers: { authorization: `Bearer ${secret}` } })
  expect([locked.status, ((await locked.json()) as any).error?.code, free.status]).toEqual([503, 'database_busy', 404])
}, 30_000)
