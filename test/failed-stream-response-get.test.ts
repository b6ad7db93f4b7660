import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * SPEC §3: `GET /v1/responses/{id}` for the user that made it. A streamed response is recorded as this user's at
 * `response.created`; when it then fails before any output (`response.failed`, released at $0, correctly), the
 * provider keeps it as a failed Response object: `status: "failed"`, an `error`, `output: []`, `usage: null`.
 * Reading it back is a free pass-through (no hold), and the object is the resource asked for, not "only an
 * error": the client gets it (its error redacted), as test/failed-stored-response-get.test.ts has for one with
 * partial output; it was answered 502, so a client could never see why its response failed.
 */
const ID = 'resp_rt_ca_failed_stream'
const failed = {
  id: ID, object: 'response', created_at: 1, model: 'm', status: 'failed',
  error: { code: 'server_error', message: 'The model failed to generate a response.' },
  incomplete_details: null, output: [], usage: null,
}
const event = (data: Record<string, unknown>) => `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  upstream.answer((call) =>
    call.path === `/v1/responses/${ID}`
      ? jsonResponse(failed)
      : sseResponse([
          event({ type: 'response.created', sequence_number: 0, response: { ...failed, status: 'in_progress', error: null } }),
          event({ type: 'response.failed', sequence_number: 1, response: failed }),
        ]),
  )
  gw = await startTestGateway({
    config: { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } },
  })
  secret = (await gw.userWithKey({ id: 'team-rt-ca-failed-stream', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

test('a streamed response that failed before any output is read back as the failed Response object, not a 502', async () => {
  const created = await fetch(gw.url + '/v1/responses', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_output_tokens: 400, input: 'story', stream: true }),
  })
  expect(created.status).toBe(200)
  expect(await created.text()).toContain('response.failed')
  await gw.settled()

  const read = await fetch(`${gw.url}/v1/responses/${ID}`, { headers: { authorization: `Bearer ${secret}` } })
  const text = await read.text()
  // The gateway passed the read on to the provider (the id is this user's) ...
  expect(upstream.calls.at(-1)!.path).toBe(`/v1/responses/${ID}`)
  expect(read.status).toBe(200)
  expect(JSON.parse(text)).toMatchObject({ id: ID, status: 'failed', error: { code: 'server_error' } })
})
