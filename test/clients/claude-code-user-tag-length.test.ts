import { expect, test } from 'bun:test'
import { claudeOnce } from '../support/clients'
import { startMockProvider } from '../support/mock-provider'
import { startTestGateway } from '../support/gateway'

/**
 * Claude Code always sends `metadata.user_id`, a JSON string of device, account and session ids (~150
 * characters). With the key's `user_field: "tag"` (what the README's client guide prescribes for Claude Code)
 * and a model behind an OpenAI-compatible provider (README: "Claude Code on a model behind an OpenAI-compatible
 * server: the request is translated"), the gateway forwards that string as chat's `user`. OpenAI refuses a
 * `user` over 64 characters (400 "Invalid 'user': string too long. Expected a string with maximum length 64,
 * but got a string with length 150 instead.", code string_above_max_length), OpenRouter one over 128, so every
 * Claude Code turn through the gateway to such a provider fails: SPEC §3 (Claude Code must work unmodified)
 * and §4 (the value goes upstream only as an end-user tag, which must then be one the provider accepts).
 */
const OPENAI_USER_MAX_LENGTH = 64

test("Claude Code's session tag forwarded to an OpenAI-compatible provider must fit OpenAI's 64-character `user`", async () => {
  const mock = startMockProvider()
  const gw = await startTestGateway({ mock, config: { pricing: { 'mock:gpt-mock': { input_per_million: 2, output_per_million: 8 } } } })
  const { secret } = await gw.userWithKey({ id: 'dev', max_budget: 25 }, { user_field: 'tag' })
  try {
    const result = await claudeOnce({ url: gw.url, secret, model: 'mock:gpt-mock', prompt: 'Say hi' })
    expect(result.code, result.output).toBe(0)
    const sent = mock.calls.filter((c) => c.path === '/v1/chat/completions').map((c) => c.body as { user?: unknown })
    expect(sent).toHaveLength(1)
    const user = sent[0]!.user
    // Absent, or a tag OpenAI accepts (e.g. a digest of the session tag).
    if (user !== undefined) expect(String(user).length).toBeLessThanOrEqual(OPENAI_USER_MAX_LENGTH)
  } finally {
    await gw.stop()
    await mock.stop()
  }
}, 90_000)
