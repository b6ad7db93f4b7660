import { beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import { jsonResponse, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

setDefaultTimeout(60_000)

/**
 * README "Translation to Anthropic": a reasoning effort is adaptive thinking at `output_config.effort` on Claude 4.6
 * and later, the version read from the provider's model id. Behind OpenRouter's or LiteLLM's Anthropic-compatible
 * endpoint the id carries the vendor and its own spelling (`anthropic/claude-opus-4.7`, `anthropic/claude-opus-4-7`,
 * `anthropic/claude-4.6-opus`): the version is read there too, or the request gets a thinking budget, which Opus 4.7
 * refuses with a 400 on every request with an effort (Codex, the Agents SDK, the AI SDK).
 *
 * The scripted upstream answers as Claude Opus 4.7 does: a thinking budget is a 400, adaptive thinking is served.
 */
const MODELS = ['anthropic/claude-opus-4.7', 'anthropic/claude-opus-4-7', 'anthropic/claude-4.6-opus'] as const

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  (u) => ({
    providers: { router: { type: 'anthropic', base_url: u.url, api_key: 'sk-router-secret-0123456789' } },
    pricing: Object.fromEntries(MODELS.map((m) => [`router:${m}`, { input_per_million: 5, output_per_million: 25 }])),
  }),
  (s) => {
    upstream = s.upstream
    gw = s.gw
  },
)

let client: OpenAI
beforeAll(async () => {
  const { secret } = await gw.userWithKey({ id: 'router-effort', max_budget: 10 })
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
  upstream.answer((call) => {
    if (call.body.thinking?.type === 'enabled')
      return jsonResponse({ type: 'error', error: { type: 'invalid_request_error', message: '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.' } }, 400)
    return jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: call.body.model, content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 5, output_tokens: 2 } })
  })
})

for (const model of MODELS) {
  test(`Responses reasoning.effort "high" on router:${model}: adaptive thinking, served`, async () => {
    const res = await client.responses.create({ model: `router:${model}`, input: 'hi', reasoning: { effort: 'high' } }).catch((e) => e)
    const sent = upstream.calls.at(-1)?.body
    expect(sent?.thinking, `sent: ${JSON.stringify(sent?.thinking)}`).toEqual({ type: 'adaptive' })
    expect(sent?.output_config?.effort).toBe('high')
    expect(res.status, String(res.message ?? '')).toBe('completed')
  })

  test(`chat reasoning_effort "low" on router:${model}: adaptive thinking, served`, async () => {
    const res = await client.chat.completions.create({ model: `router:${model}`, messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'low' }).catch((e) => e)
    const sent = upstream.calls.at(-1)?.body
    expect(sent?.thinking, `sent: ${JSON.stringify(sent?.thinking)}`).toEqual({ type: 'adaptive' })
    expect(sent?.output_config?.effort).toBe('low')
    expect(res.choices?.[0]?.message?.content, String(res.message ?? '')).toBe('ok')
  })
}
