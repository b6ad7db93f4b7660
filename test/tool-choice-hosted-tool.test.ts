/**
 * README (Responses API): a `tool_choice` naming a hosted tool by its type (`{type: "image_generation"}`, or in an
 * `allowed_tools` list) offers that tool: a Responses router in front of OpenAI (CLIProxyAPI's Codex executor) adds
 * the tool a choice names to `tools` when it is not there. Before, only `tools` and input items were read: the image
 * tool named in tool_choice alone beside an input image was served, 60,000 image-model tokens billed $0, and the
 * image fee billed was never held. Now it is priced, held and refused as the tool in `tools` is. Chat and Messages
 * have no hosted tool a choice may name: a choice of another type than theirs is refused.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
withScriptedGateway(
  {
    server_tool_default_max_uses: 1,
    pricing: {
      'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { image_generation: 0.04 } },
      'ant:claude-x': { input_per_million: 1, output_per_million: 2 },
    },
  },
  (started) => ({ upstream, gw } = started),
)

const usage = { input_tokens: 100, output_tokens: 50, total_tokens: 150, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } }
const imageCall = { id: 'ig_1', type: 'image_generation_call', status: 'completed', result: 'AAAA', output_format: 'png' }
const toolUsage = { image_gen: { input_tokens: 60_000, input_tokens_details: { image_tokens: 59_800, text_tokens: 200 }, output_tokens: 6_240, total_tokens: 66_240 } }
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='
const portrait = [{ role: 'user', content: [{ type: 'input_text', text: 'a group portrait of these people' }, { type: 'input_image', image_url: PNG }] }]

async function post(path: string, body: Record<string, unknown>) {
  secret ??= (await gw.userWithKey({ id: 'tool-choice-hosted', max_budget: 100 })).secret
  upstream.answer(() => jsonResponse({ id: 'resp_tc', object: 'response', status: 'completed', model: 'm', usage, tool_usage: toolUsage, output: [imageCall] }))
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const answer = (await res.json()) as { error?: { code?: string; type?: string } }
  await gw.settled()
  return { status: res.status, code: answer.error?.code ?? answer.error?.type ?? null, upstreamCalls: upstream.calls.length }
}

const refused = { status: 400, code: 'feature_unsupported', upstreamCalls: 0 }

test('tool_choice image_generation beside an input image, no tools: refused as the tool in tools is', async () => {
  expect(await post('/v1/responses', { model: 'plain:m', max_output_tokens: 100, input: portrait, tool_choice: { type: 'image_generation' } })).toEqual(refused)
  const allowed = { type: 'allowed_tools', mode: 'required', tools: [{ type: 'image_generation' }] }
  expect(await post('/v1/responses', { model: 'plain:m', max_output_tokens: 100, input: portrait, tool_choice: allowed })).toEqual(refused)
})

test('tool_choice naming a hosted tool type the gateway does not know is refused as it is in tools', async () => {
  expect(await post('/v1/responses', { model: 'plain:m', max_output_tokens: 100, input: 'hi', tool_choice: { type: 'deep_research_preview' } })).toEqual(refused)
})

test('tool_choice image_generation from text alone is served, the image held and billed', async () => {
  const served = await post('/v1/responses', { model: 'plain:m', max_output_tokens: 100, input: 'a red bicycle', tool_choice: { type: 'image_generation' } })
  expect(served).toEqual({ status: 200, code: null, upstreamCalls: 1 })
  const [row] = gw.query<{ cost: number }>('SELECT cost FROM usage ORDER BY id DESC LIMIT 1')
  // $0.04 for the image, besides 100 input and 50 output tokens.
  expect(row?.cost).toBe(40_000 + 100 + 100)
  // Held: a budget short of the image is refused before the provider is called.
  const short = (await gw.userWithKey({ id: 'tool-choice-short', max_budget: 0.01 })).secret
  upstream.calls.length = 0
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${short}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_output_tokens: 100, input: 'a red bicycle', tool_choice: { type: 'image_generation' } }),
  })
  await res.text()
  expect({ status: res.status, upstreamCalls: upstream.calls.length }).toEqual({ status: 402, upstreamCalls: 0 })
})

test('chat and Messages: a tool_choice naming a tool by a type of its own is refused', async () => {
  const chat = { model: 'plain:m', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }
  expect(await post('/v1/chat/completions', { ...chat, tool_choice: { type: 'web_search' } })).toEqual(refused)
  expect(await post('/v1/chat/completions', { ...chat, tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'code_interpreter' }] } } })).toEqual(refused)
  const messages = { model: 'ant:claude-x', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }
  expect(await post('/v1/messages', { ...messages, tool_choice: { type: 'web_search_20250305' } })).toMatchObject({ status: 400, upstreamCalls: 0 })
})
