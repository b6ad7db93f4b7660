/**
 * Besides `search_parameters`, the features read two more request objects by exact key that the case check
 * (case-variant-keys.ts) left out: `tool_choice` (`chatToolsNamed`, `toolChoiceTools`, `refuseAnthropicToolChoiceType`
 * read its `type`, its `allowed_tools.tools` or `tools`) and Messages' `thread` (`isContinuedThread` reads its
 * `type`). A router reading keys ignoring case (Go's encoding/json; the last spelling wins) takes `Type` or `Tools`
 * for them: a hosted tool named as `{type: "function", name: "f", Type: "image_generation"}` is the image tool to
 * it, unpriced and unheld; `{type: "create", Type: "continue"}` continues a stored conversation the gateway cannot
 * size. Each is refused 400 `case_variant_key` before any provider call, as the tools and settings objects are.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    pricing: {
      'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { image_generation: 0.04, web_search: 0.01 } },
      'ant:claude-x': { input_per_million: 1, output_per_million: 2 },
    },
    cap_output_tokens: true,
    default_max_output_tokens: 64,
  },
  (started) => ({ upstream, gw } = started),
)

const fn = { type: 'function', function: { name: 'f', parameters: { type: 'object' } } }
const question = [{ role: 'user', content: 'hello' }]
const requests: Array<[path: string, body: Record<string, unknown>]> = [
  ['/v1/chat/completions', { model: 'plain:m', messages: question, tools: [fn], tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', Tools: [{ type: 'web_search' }] } } }],
  ['/v1/chat/completions', { model: 'plain:m', messages: question, tools: [fn], tool_choice: { type: 'function', function: { name: 'f' }, Type: 'allowed_tools' } }],
  ['/v1/responses', { model: 'plain:m', input: 'hello', tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }], tool_choice: { type: 'function', name: 'f', Type: 'image_generation' } }],
  ['/v1/responses', { model: 'plain:m', input: 'hello', tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [{ Type: 'image_generation', type: 'function', name: 'f' }] } }],
  ['/v1/messages', { model: 'ant:claude-x', max_tokens: 16, messages: question, tools: [{ name: 'f', input_schema: { type: 'object' } }], tool_choice: { type: 'auto', Type: 'web_search_20250305' } }],
  ['/v1/messages', { model: 'ant:claude-x', max_tokens: 16, messages: question, thread: { type: 'create', Type: 'continue', previous_message_id: 'msg_1' } }],
]

test('tool_choice and thread keys out of case are refused before the provider is called, on every route that reads them', async () => {
  upstream.answer(({ path }) =>
    jsonResponse(
      path === '/v1/messages'
        ? { id: 'msg_2', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 2 } }
        : { id: 'chatcmpl-1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } },
    ),
  )
  const { secret } = await gw.userWithKey({ id: 'tool-choice-case', max_budget: 10 })
  const outcomes = []
  for (const [path, body] of requests) {
    const res = await fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    // Messages answers in Anthropic's shape: no code, the refusal told by its message.
    const answer = (await res.json()) as { error?: { message?: string } }
    outcomes.push({ path, status: res.status, caseRefusal: /keys here must be in lowercase/.test(answer.error?.message ?? '') })
  }
  await gw.settled()
  expect({ outcomes, upstreamCalls: upstream.calls.length }).toEqual({
    outcomes: requests.map(([path]) => ({ path, status: 400, caseRefusal: true })),
    upstreamCalls: 0,
  })
})
