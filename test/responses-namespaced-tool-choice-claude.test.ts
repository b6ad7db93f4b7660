import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import { z } from 'zod'
import { Agent, OpenAIResponsesModel, Runner, tool, toolNamespace } from '@openai/agents'
import { jsonResponse, scriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

/**
 * Responses → Claude, namespace tools (src/translate/responses/request-to-messages.ts). The OpenAI Agents SDK groups
 * functions with `toolNamespace` and forces one with `modelSettings.toolChoice: "<namespace>.<name>"`, sent as
 * `tool_choice: {type: "function", name: "crm.lookup_account"}`. Claude is offered that function as
 * `crm__lookup_account`; the forced tool went on naming `crm.lookup_account`, a tool Claude was not offered and a
 * name outside Anthropic's rule (`^[a-zA-Z0-9_-]{1,128}$`), which Anthropic refuses with a 400. The forced tool is
 * named as it was offered.
 */
setDefaultTimeout(30_000)

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('namespaced-tool-choice-claude'))
})
afterAll(() => stop())

const ANTHROPIC_TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/

test('Agents SDK forcing a namespaced function (toolChoice "crm.lookup_account") on Claude: the forced tool is one Claude was offered', async () => {
  upstream.answer((call) => {
    const offered: string[] = (call.body.tools ?? []).map((t: any) => t.name)
    const forced = call.body.tool_choice?.type === 'tool' ? call.body.tool_choice.name : undefined
    // As Anthropic answers a tool_choice naming a tool it was not offered, or a name outside its rule.
    if (forced !== undefined && (!offered.includes(forced) || !ANTHROPIC_TOOL_NAME.test(forced)))
      return jsonResponse({ type: 'error', error: { type: 'invalid_request_error', message: `tool_choice.name: tool '${forced}' not found in tools` } }, 400)
    return jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: 'm', stop_reason: 'end_turn', stop_sequence: null,
      content: [{ type: 'text', text: 'done' }],
      usage: { input_tokens: 10, output_tokens: 2 },
    })
  })
  const lookup = tool({ name: 'lookup_account', description: 'Look up an account', parameters: z.object({ id: z.string() }), execute: async () => 'acct' })
  const crm = toolNamespace({ name: 'crm', description: 'CRM tools', tools: [lookup] })
  const model = new OpenAIResponsesModel(new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 }), 'ant:m')
  const agent = new Agent({ name: 'a', instructions: 'Use the CRM.', model, tools: [...crm], modelSettings: { toolChoice: 'crm.lookup_account', store: false } })
  let failure: unknown
  try {
    await new Runner({ tracingDisabled: true }).run(agent, 'Look up account 7.', { maxTurns: 2 })
  } catch (error) {
    failure = error
  }
  const sent = upstream.calls.find((c) => c.path === '/v1/messages')?.body
  expect(sent?.tools?.map((t: any) => t.name)).toEqual(['crm__lookup_account'])
  expect(sent?.tool_choice).toMatchObject({ type: 'tool', name: 'crm__lookup_account' })
  expect(String(failure ?? '')).toBe('')
})
