import { afterAll, beforeAll, beforeEach, expect, setDefaultTimeout, test } from 'bun:test'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { startTestGateway, type TestGateway } from './support/gateway'

setDefaultTimeout(30_000)

/**
 * A Responses `tool_choice: {type: "allowed_tools", mode: "required", tools: [...]}` (the model must call one of
 * these tools, and no other) sent to a translated target is honoured or refused, never silently weakened (the
 * model answering without a tool, or calling one the client excluded for this turn, with nothing to say so).
 * Anthropic has no such choice: refused with a 400 naming `tool_choice`, as chat → Anthropic refuses it. Chat
 * completions has one: passed on in chat's own form (or, as the test also accepts, honoured by offering only
 * the allowed tools with `required`).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  const providers = scriptedProviders(upstream)
  gw = await startTestGateway({ config: {
    providers: { ant: providers.ant, chat: { ...providers.plain, responses: 'chat' } },
    pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 }, 'chat:m': { input_per_million: 1, output_per_million: 2 } },
  } })
  ;({ secret } = await gw.userWithKey({ id: 'team-allowed-tools', max_budget: 10 }))
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})
beforeEach(() => { upstream.calls.length = 0 })

const body = (model: string) => ({
  model,
  input: 'Look up the order.',
  tools: [
    { type: 'function', name: 'lookup_order', parameters: { type: 'object', properties: {} } },
    { type: 'function', name: 'delete_account', parameters: { type: 'object', properties: {} } },
  ],
  tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'lookup_order' }] },
})

const post = (model: string) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body(model)) })

const toolNames = (sent: any): string[] => (sent.tools ?? []).map((t: any) => t.name ?? t.function?.name)

test('to an Anthropic model: allowed_tools (required) is honoured or refused, never turned into auto over every tool', async () => {
  upstream.answer(() => jsonResponse({ id: 'msg_a', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Done.' }], stop_reason: 'end_turn', usage: { input_tokens: 5, output_tokens: 2 } }))
  const res = await post('ant:m')
  if (res.status === 400) {
    expect(await res.text()).toContain('tool_choice')
    expect(upstream.calls.length).toBe(0)
    return
  }
  expect(res.status).toBe(200)
  const sent = upstream.calls.at(-1)!.body
  expect(toolNames(sent)).toEqual(['lookup_order'])
  expect(['any', 'tool']).toContain(sent.tool_choice?.type)
})

test('through chat completions: allowed_tools (required) is honoured or refused, never dropped', async () => {
  upstream.answer(() => jsonResponse({ id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Done.' } }], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }))
  const res = await post('chat:m')
  if (res.status === 400) {
    expect(await res.text()).toContain('tool_choice')
    expect(upstream.calls.length).toBe(0)
    return
  }
  expect(res.status).toBe(200)
  const sent = upstream.calls.at(-1)!.body
  const passedOn = sent.tool_choice?.type === 'allowed_tools' && sent.tool_choice.allowed_tools?.mode === 'required'
  const narrowed = JSON.stringify(toolNames(sent)) === JSON.stringify(['lookup_order']) && sent.tool_choice === 'required'
  expect({ tool_choice: sent.tool_choice ?? null, honoured: passedOn || narrowed }).toMatchObject({ honoured: true })
})

test('through chat completions: allowed_tools naming only hosted tools (not sent) allows none of the tools that are', async () => {
  upstream.answer(() => jsonResponse({ id: 'c2', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Done.' } }], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }))
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...body('chat:m'), tools: [...body('chat:m').tools, { type: 'web_search' }], tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'web_search' }] } }),
  })
  expect(res.status).toBe(200)
  expect(res.headers.get('x-tollgate-dropped-tools')).toContain('web_search')
  expect(upstream.calls.at(-1)!.body.tool_choice).toBe('none')
})
