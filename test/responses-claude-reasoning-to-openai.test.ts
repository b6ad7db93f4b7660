/**
 * A conversation that used Claude through `/v1/responses`, continued on an OpenAI model. Claude's thinking comes back
 * as a `reasoning` item whose `encrypted_content` is the gateway's own carrier (`tollgate-anthropic-thinking.v1:…`),
 * which clients send back untouched with `store: false` (Codex always; the Agents SDK and the AI SDK too). OpenAI
 * refuses encrypted content it did not make (400 `invalid_encrypted_content`), and the item stays in the client's
 * history: a Codex session switched to an OpenAI model (`/model`), or an Agents SDK handoff from Claude to GPT, would
 * be refused on every later request. The gateway drops its carrier on the way to another model, as it drops other
 * models' reasoning on the way to Claude.
 *
 * The scripted upstream answers `/v1/responses` as OpenAI does: encrypted content it did not issue is a 400.
 */
import { beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import { jsonResponse, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

setDefaultTimeout(60_000)

const CARRIER_PREFIX = 'tollgate-anthropic-thinking.v1:'
/** The only encrypted content the scripted OpenAI takes: what it issued. */
const OPENAI_ISSUED = 'gAAAAA-scripted-openai-reasoning'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  (u) => ({
    providers: {
      ant: { type: 'anthropic', base_url: u.url, api_key: 'sk-ant-scripted-secret-0123456789' },
      openai: { type: 'openai', base_url: `${u.url}/v1`, api_key: 'sk-scripted-secret-0123456789' },
    },
    pricing: {
      'ant:claude-sonnet-4-5': { input_per_million: 3, output_per_million: 15 },
      'openai:gpt-5': { input_per_million: 1.25, output_per_million: 10 },
    },
  }),
  (s) => {
    upstream = s.upstream
    gw = s.gw
  },
)

let client: OpenAI
let secret: string
beforeAll(async () => {
  ;({ secret } = await gw.userWithKey({ id: 'claude-then-gpt', max_budget: 10 }))
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
  upstream.answer((call) => {
    if (call.path === '/v1/messages')
      return jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5',
        content: [{ type: 'thinking', thinking: 'The user wants a plan.', signature: 'c2lnbmVkLWJ5LWNsYXVkZQ==' }, { type: 'text', text: 'Plan: step one.' }],
        stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 20, output_tokens: 30 },
      })
    const foreign = (Array.isArray(call.body.input) ? call.body.input : []).find(
      (item: any) => typeof item?.encrypted_content === 'string' && item.encrypted_content !== OPENAI_ISSUED,
    )
    if (foreign)
      return jsonResponse({ error: { message: `The encrypted content ${String(foreign.encrypted_content).slice(0, 4)}...could not be verified.`, type: 'invalid_request_error', param: null, code: 'invalid_encrypted_content' } }, 400)
    if (call.path === '/v1/responses/input_tokens') return jsonResponse({ object: 'response.input_tokens', input_tokens: 40 })
    return jsonResponse({
      id: 'resp_2', object: 'response', created_at: 1, status: 'completed', model: 'gpt-5',
      output: [
        { id: 'rs_2', type: 'reasoning', summary: [], encrypted_content: OPENAI_ISSUED },
        { id: 'msg_2', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Step two.', annotations: [] }] },
      ],
      usage: { input_tokens: 40, output_tokens: 10, total_tokens: 50, output_tokens_details: { reasoning_tokens: 4 } },
    })
  })
})

/** A Claude turn's output, its reasoning item carrying Claude's thinking, and a conversation that continues it. */
async function continuedClaudeTurn(): Promise<any[]> {
  const first = await client.responses.create({
    model: 'ant:claude-sonnet-4-5', input: 'Make a plan.', reasoning: { effort: 'low' }, store: false, include: ['reasoning.encrypted_content'],
  })
  const carried = first.output.find((item) => item.type === 'reasoning') as { encrypted_content?: string } | undefined
  expect(carried?.encrypted_content).toStartWith(CARRIER_PREFIX)
  return [{ role: 'user', content: 'Make a plan.' }, ...(first.output as any[]), { role: 'user', content: 'And the next step?' }]
}

const carriersSent = (path: string) =>
  (upstream.calls.filter((c) => c.path === path).at(-1)?.body.input ?? []).filter((item: any) => String(item?.encrypted_content ?? '').startsWith(CARRIER_PREFIX))

test("a Claude turn's reasoning item sent back to an OpenAI model (store: false, as Codex does): served, not 400", async () => {
  const input = await continuedClaudeTurn()
  const second = await client.responses
    .create({ model: 'openai:gpt-5', store: false, include: ['reasoning.encrypted_content'], reasoning: { effort: 'low' }, input })
    .catch((e: any) => e)
  expect(carriersSent('/v1/responses'), "the gateway's own Claude carrier was sent to OpenAI").toEqual([])
  expect(second.status, String(second.message ?? '')).toBe('completed')
  expect(second.output_text).toBe('Step two.')
})

test("counting that conversation's input tokens on the OpenAI model: the carrier is not sent either", async () => {
  const input = await continuedClaudeTurn()
  const res = await fetch(`${gw.url}/v1/responses/input_tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openai:gpt-5', input }),
  })
  expect(carriersSent('/v1/responses/input_tokens')).toEqual([])
  expect(res.status, await res.clone().text()).toBe(200)
  expect(((await res.json()) as { input_tokens: number }).input_tokens).toBe(40)
})
