/**
 * The code execution container a Messages answer ran in is written before the client gets its id, as a stored
 * Responses answer's ids are (test/responses-stored-ids-file-locked.test.ts): the client's next request naming it may
 * reach a sibling worker or another replica. Another process holding the SQLite file's write lock past the busy timeout
 * as the answer comes withholds it: a JSON answer is a 503 database_busy, paid by its usage; a stream ends with an
 * error event in place of the `message_delta` that names the container.
 */
import { Database } from 'bun:sqlite'
import { expect, test } from 'bun:test'
import { BUSY_TIMEOUT_MS } from '../src/db/open'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway({ pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { code_execution: 0.05 } } } }, (started) => ({ upstream, gw } = started))

/** Takes the file's write lock from another connection now, and lets it go after `ms`. */
function holdWriteLock(ms: number): Promise<void> {
  const other = new Database(gw.dbPath)
  other.exec('BEGIN IMMEDIATE')
  return Bun.sleep(ms).then(() => {
    other.exec('ROLLBACK')
    other.close()
  })
}

const container = (id: string) => ({ id, expires_at: '2026-12-05T00:00:00Z' })
const post = (secret: string, stream: boolean) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 16, stream, messages: [{ role: 'user', content: 'analyse' }], tools: [{ type: 'code_execution_20250825', name: 'code_execution' }] }),
  })

test('the file locked past the busy timeout as a JSON answer comes: it is withheld with a 503 database_busy the SDKs do not retry, and paid by its usage', async () => {
  const { secret } = await gw.userWithKey({ id: 'container-locked-json', max_budget: 5 })
  let held: Promise<void> = Promise.resolve()
  upstream.answer(() => {
    held = holdWriteLock(BUSY_TIMEOUT_MS + 1_000)
    return jsonResponse({
      id: 'msg_locked', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 20, output_tokens: 1 }, container: container('container_locked_json'),
    })
  })
  const res = await post(secret, false)
  const text = await res.text()
  await held
  await gw.settled()
  expect({ status: res.status, shouldRetry: res.headers.get('x-should-retry'), retryAfter: res.headers.get('retry-after'), containerGiven: text.includes('container_locked_json') })
    .toEqual({ status: 503, shouldRetry: 'false', retryAfter: null, containerGiven: false })
  expect(gw.query("SELECT cost, status FROM usage WHERE user_id = 'container-locked-json'")).toEqual([{ cost: 22, status: 'error' }])
  // Written once the lock went: the user names it again on any replica.
  expect(gw.query("SELECT user_id FROM stored_responses WHERE id = 'container_locked_json' AND kind = 'container'")).toEqual([{ user_id: 'container-locked-json' }])
}, 30_000)

test('the file locked past the busy timeout as a stream names its container: the stream ends with an error event in its place', async () => {
  const { secret } = await gw.userWithKey({ id: 'container-locked-stream', max_budget: 5 })
  let held: Promise<void> = Promise.resolve()
  upstream.answer(() => {
    held = holdWriteLock(BUSY_TIMEOUT_MS + 1_000)
    return sseResponse([
      anthropicEvent({ type: 'message_start', message: { id: 'msg_locked_stream', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 20, output_tokens: 1 } } }),
      anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ok' } }),
      anthropicEvent({ type: 'content_block_stop', index: 0 }),
      anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null, container: container('container_locked_stream') }, usage: { output_tokens: 1 } }),
      anthropicEvent({ type: 'message_stop' }),
    ])
  })
  const res = await post(secret, true)
  const text = await res.text()
  await held
  await gw.settled()
  expect({ status: res.status, containerGiven: text.includes('container_locked_stream'), endsInError: /event: error\n[^\n]*database did not take the ids/.test(text), stopped: text.includes('message_stop') })
    .toEqual({ status: 200, containerGiven: false, endsInError: true, stopped: false })
}, 30_000)
