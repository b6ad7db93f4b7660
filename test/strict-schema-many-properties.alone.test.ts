/**
 * A Messages request served by an OpenAI-compatible provider keeps a tool's `strict: true` only when OpenAI's strict
 * mode would take its schema (`fitsOpenAIStrict`), which asks of every property whether `required` lists it. Asked
 * of the list, that was properties × required string compares: one tool whose schema has 60,000 properties, all
 * required (2.7 MB, a client's own tool), held the gateway's thread 5.5 s while every other tenant waited. The same
 * check runs on `output_config.format`. The schemas here have 45,000 (~3 s of those compares), under the body's bound
 * on object members (100,000, src/http/json-body.ts: each property is two), past which a body is refused unparsed.
 *
 * The gateway runs as a child process, so that the measure is its event loop, not this test's.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { worstHealthDuring } from './support/health-during'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  upstream.answer(() =>
    jsonResponse({ id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 } }),
  )
  gw = await spawnGateway({
    config: { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 0.001, output_per_million: 0.001 } }, log_level: 'warn' },
  })
  ;({ secret } = await gw.userWithKey({ id: 'strict-quadratic', max_budget: 1000 }))
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

const N = 45_000

function wideSchema() {
  const properties: Record<string, unknown> = {}
  const required: string[] = []
  for (let i = 0; i < N; i++) {
    properties[`field_${i}`] = { type: 'string' }
    required.push(`field_${i}`)
  }
  return { type: 'object', additionalProperties: false, properties, required }
}

async function measured(body: string) {
  const sent = fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body,
  }).then(async (res) => ({ status: res.status, text: await res.text() }))
  const t = performance.now()
  const worst = await worstHealthDuring(gw.url, sent)
  const answer = await sent
  console.log(`${(body.length / 1e6).toFixed(2)} MB, status ${answer.status}, took ${(performance.now() - t).toFixed(0)} ms, worst /health ${worst.toFixed(0)} ms`)
  return { worst, answer }
}

test('Messages → OpenAI-compatible: a strict tool with 45,000 required properties does not hold the gateway (< 1 s)', async () => {
  const body = JSON.stringify({ model: 'plain:m', max_tokens: 5, messages: [{ role: 'user', content: 'go' }], tools: [{ name: 'wide', strict: true, input_schema: wideSchema() }] })
  const { worst, answer } = await measured(body)
  expect(answer.status).toBe(200)
  expect(upstream.calls.at(-1)?.body?.tools?.[0]?.function?.strict).toBe(true)
  expect(worst).toBeLessThan(1000) // the same body without `strict` is answered in ~150 ms
}, 300_000)

test('Messages → OpenAI-compatible: an output_config.format schema with 45,000 required properties does not hold the gateway', async () => {
  const body = JSON.stringify({ model: 'plain:m', max_tokens: 5, messages: [{ role: 'user', content: 'go' }], output_config: { format: { type: 'json_schema', schema: wideSchema() } } })
  const { worst, answer } = await measured(body)
  expect(answer.status).toBe(200)
  expect(worst).toBeLessThan(1000)
}, 300_000)
