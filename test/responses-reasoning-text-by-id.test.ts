import { afterAll, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { Agent, OpenAIProvider, Runner, tool } from '@openai/agents'
import { z } from 'zod'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { estimateResponses } from '../src/budget/estimate'
import { isItemById } from '../src/translate/responses/input-items'
import { binOf, runCli, scratchDir } from './support/clients'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, scriptedProviders, sseResponse, startScriptedUpstream } from './support/scripted-upstream'

setDefaultTimeout(90_000)

/**
 * Codex CLI (`codex exec`, wire_api "responses") through the gateway to an OpenAI-compatible Responses server
 * running an open-weight reasoning model (gpt-oss on vLLM, Ollama, LM Studio): its reasoning item carries the
 * reasoning as `content: [{type: "reasoning_text"}]` and has no `encrypted_content`. Codex sends every item back
 * with its id and `store: false`, the reasoning as `{type: "reasoning", id, summary, content: [...], encrypted_content: null}`:
 * the item is in the body, nothing is read from a store. Taken for an item by id alone that the gateway never
 * recorded, it was refused 404 item_not_found, and Codex's second turn (after running the tool) failed. The OpenAI
 * Agents SDK with `modelSettings.store: false` sends the same item back (`{id, type: "reasoning", summary, content}`)
 * between the two model calls of a tool loop, and failed the same way. Its reasoning_text is held as input, as
 * `encrypted_content` is; a reasoning item with neither is still an item by id (its summary is not the reasoning).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let home: ReturnType<typeof scratchDir>
beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({ config: { providers: scriptedProviders(upstream), pricing: { 'plain:gpt-oss': { input_per_million: 1, output_per_million: 2 } } } })
  home = scratchDir('tollgate-codex-oss-')
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
  home?.remove()
})

beforeEach(() => {
  if (upstream) upstream.calls.length = 0
})

let seq = 0
const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`
const usage = { input_tokens: 50, input_tokens_details: { cached_tokens: 0 }, output_tokens: 20, output_tokens_details: { reasoning_tokens: 10 }, total_tokens: 70 }
function turn(items: Record<string, unknown>[]) {
  const id = `resp_${crypto.randomUUID()}`
  const response = (status: string, output: unknown[], u: unknown) => ({ id, object: 'response', created_at: 1, status, model: 'gpt-oss', output, usage: u, store: false })
  return sseResponse([
    event('response.created', { response: response('in_progress', [], null) }),
    ...items.flatMap((item, i) => [event('response.output_item.added', { output_index: i, item }), event('response.output_item.done', { output_index: i, item })]),
    event('response.completed', { response: response('completed', items, usage) }),
  ])
}
const reasoning = { id: 'rs_oss_1', type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'I should read note.txt with cat.' }] }
const call = { id: 'fc_oss_1', type: 'function_call', status: 'completed', call_id: 'call_oss_1', name: 'exec_command', arguments: '{"cmd":"cat note.txt"}' }
const answer = { id: 'msg_oss_1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'The word is tangerine.', annotations: [] }] }

test('codex exec with an open-weight reasoning model: the tool round trip completes', async () => {
  const { secret } = await gw.userWithKey({ id: 'codex-oss', max_budget: 10 })
  let n = 0
  upstream.answer(() => (n++ === 0 ? turn([reasoning, call]) : turn([answer])))
  const codexHome = join(home.path, 'codex')
  const work = join(home.path, 'work')
  mkdirSync(codexHome, { recursive: true })
  mkdirSync(work)
  writeFileSync(join(codexHome, 'config.toml'), [
    'model = "plain:gpt-oss"', 'model_provider = "tollgate"', 'web_search = "disabled"', 'model_reasoning_effort = "low"', '',
    '[model_providers.tollgate]', 'name = "tollgate"', `base_url = "${gw.url}/v1"`, 'env_key = "CODEX_GATEWAY_KEY"', 'wire_api = "responses"', '',
  ].join('\n'))
  writeFileSync(join(work, 'note.txt'), 'the secret word is tangerine\n')
  const result = await runCli([binOf('codex'), 'exec', '--skip-git-repo-check', 'What is the secret word in note.txt?'], {
    cwd: work, timeoutMs: 60_000, env: { HOME: home.path, CODEX_HOME: codexHome, CODEX_GATEWAY_KEY: secret },
  })
  const calls = upstream.calls.filter((c) => c.path === '/v1/responses')
  expect({ itemNotFound: /item_not_found|No item with id/.test(result.output), upstreamCalls: calls.length, code: result.code }).toEqual({ itemNotFound: false, upstreamCalls: 2, code: 0 })
  expect(result.output).toContain('tangerine.')
})

test('an Agents SDK tool loop with store: false and a reasoning item carrying its reasoning_text is served', async () => {
  const { secret } = await gw.userWithKey({ id: 'agents-oss', max_budget: 10 })
  const respond = (output: unknown[]) => jsonResponse({ id: `resp_${crypto.randomUUID()}`, object: 'response', status: 'completed', model: 'gpt-oss', output, usage })
  let n = 0
  upstream.answer(() => (n++ === 0 ? respond([reasoning, { ...call, name: 'get_weather', arguments: '{"city":"Paris"}' }]) : respond([answer])))
  const getWeather = tool({ name: 'get_weather', description: 'weather', parameters: z.object({ city: z.string() }), execute: async ({ city }) => `sunny in ${city}` })
  const agent = new Agent({ name: 'w', instructions: 'Answer.', model: 'plain:gpt-oss', tools: [getWeather], modelSettings: { store: false } })
  const runner = new Runner({ modelProvider: new OpenAIProvider({ baseURL: `${gw.url}/v1`, apiKey: secret }), tracingDisabled: true })
  let error: unknown = null
  const result = await runner.run(agent, 'Weather in Paris?').catch((e) => ((error = e), null))
  expect({ error: error === null ? null : String(error).slice(0, 200), output: result?.finalOutput, upstreamCalls: upstream.calls.length }).toEqual({ error: null, output: 'The word is tangerine.', upstreamCalls: 2 })
  // The reasoning went back with its text, as the SDK sends it.
  expect(JSON.stringify(upstream.calls[1]!.body.input)).toContain('I should read note.txt')
})

describe('a reasoning item carries its reasoning in encrypted_content or in reasoning_text parts', () => {
  test('with non-empty reasoning_text it is not an item by id; with an empty one, or a summary alone, it is', () => {
    expect(isItemById(reasoning)).toBe(false)
    expect(isItemById({ ...reasoning, encrypted_content: null })).toBe(false)
    expect(isItemById({ ...reasoning, content: [{ type: 'reasoning_text', text: '' }] })).toBe(true)
    expect(isItemById({ ...reasoning, content: [] })).toBe(true)
    expect(isItemById({ ...reasoning, content: [{ type: 'output_text', text: 'not reasoning' }] })).toBe(true)
    expect(isItemById({ type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'I read the note.' }], encrypted_content: null })).toBe(true)
  })

  test('its reasoning_text is held as input, as encrypted_content is', () => {
    const o = { defaultMaxOutputTokens: 16, mediaPartTokens: 1000 }
    const text = 'x'.repeat(10_000)
    const bare = estimateResponses({ input: [{ type: 'reasoning', id: 'rs_1', summary: [] }] }, o).inputTokens
    const withText = estimateResponses({ input: [{ type: 'reasoning', id: 'rs_1', summary: [], content: [{ type: 'reasoning_text', text }] }] }, o).inputTokens
    const withEncrypted = estimateResponses({ input: [{ type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: text }] }, o).inputTokens
    expect(withText - bare).toBeGreaterThanOrEqual(text.length)
    expect(withEncrypted - bare).toBeGreaterThanOrEqual(text.length)
  })

  test('store: false: a reasoning item with a summary but neither, never recorded, is still refused 404', async () => {
    const { secret } = await gw.userWithKey({ id: 'oss-summary-only', max_budget: 10 })
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:gpt-oss', store: false, input: [{ type: 'reasoning', id: 'rs_unseen', summary: [{ type: 'summary_text', text: 'hm' }], encrypted_content: null }, { role: 'user', content: 'go on' }] }),
    })
    expect({ status: res.status, code: ((await res.json()) as { error?: { code?: string } }).error?.code }).toEqual({ status: 404, code: 'item_not_found' })
    expect(upstream.calls.length).toBe(0)
  })
})
