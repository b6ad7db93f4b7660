import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * SPEC §3: `GET /v1/responses/{id}` for the user that made it. POST /v1/responses relays (and bills, and
 * records as this user's) a failed Response object that carries partial output beside its `error`; reading it
 * back is relayed too, not answered 502 as if it were only an error (the pass-through took any JSON object with
 * an `error` and no usage for one).
 */
const ID = 'resp_rt_by_failed_stored'
const failed = {
  id: ID, object: 'response', created_at: 1, model: 'm', status: 'failed',
  error: { code: 'server_error', message: 'The model failed while generating' },
  output: [{ type: 'message', id: 'msg_rt_by_1', role: 'assistant', status: 'incomplete', content: [{ type: 'output_text', text: 'Once upon a time, '.repeat(20), annotations: [] }] }],
  usage: null,
}
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  upstream.answer(() => jsonResponse(failed))
  gw = await startTestGateway({
    config: { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } },
  })
  secret = (await gw.userWithKey({ id: 'team-rt-by-failed-stored', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

test('a failed stored response the gateway relayed on POST is relayed on GET too, not answered 502', async () => {
  const created = await fetch(gw.url + '/v1/responses', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_output_tokens: 400, input: 'story' }),
  })
  const createdBody = (await created.json()) as { id: string }
  expect(created.status).toBe(200)
  expect(createdBody.id).toBe(ID)
  await gw.settled()

  const read = await fetch(`${gw.url}/v1/responses/${ID}`, { headers: { authorization: `Bearer ${secret}` } })
  const text = await read.text()
  expect(upstream.calls.at(-1)!.path).toBe(`/v1/responses/${ID}`)
  // It was a 502 ("Upstream provider answered 200: The model failed while generating").
  expect(read.status).toBe(200)
  expect(JSON.parse(text).status).toBe('failed')
  expect(JSON.parse(text).output[0].content[0].text).toBe(failed.output[0]!.content[0]!.text)
})
