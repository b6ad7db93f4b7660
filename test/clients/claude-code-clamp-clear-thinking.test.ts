import { expect, test } from 'bun:test'
import { claudeOnce } from '../support/clients'
import { startMockProvider } from '../support/mock-provider'
import { startTestGateway } from '../support/gateway'

/**
 * Claude Code on a Sonnet 4.5 model sends `thinking: {type: "enabled", budget_tokens: 31999}` together with
 * `context_management: {edits: [{type: "clear_thinking_20251015", keep: "all"}]}` (beta context-management-2025-06-27).
 * When the output clamp lowers max_tokens below 2048, the gateway drops `thinking` (README, "The output clamp")
 * but leaves the clear_thinking edit in place. Anthropic refuses that body with 400
 * "`clear_thinking_20251015` strategy requires `thinking` to be enabled or adaptive": the clamp, meant to let
 * a user with little budget left keep working ("Nothing is refused"), breaks every Claude Code turn instead.
 */
const MODEL = 'claude-sonnet-4-5-20250929'

/** What Anthropic answers 400 for in a Messages body's thinking/context-management pair, or null. */
function anthropicRefusal(body: any): string | null {
  const edits: any[] = body?.context_management?.edits ?? []
  const thinkingOn = body?.thinking?.type === 'enabled' || body?.thinking?.type === 'adaptive'
  if (edits.some((e) => e?.type === 'clear_thinking_20251015') && !thinkingOn)
    return '`clear_thinking_20251015` strategy requires `thinking` to be enabled or adaptive'
  return null
}

test('a clamped Claude Code turn that loses its thinking must not keep the clear_thinking edit (Anthropic 400)', async () => {
  const mock = startMockProvider()
  const gw = await startTestGateway({
    mock,
    config: { default_providers: { anthropic: 'mockant' }, pricing: { [`mockant:${MODEL}`]: { input_per_million: 3, output_per_million: 15 } } },
  })
  // ~$0.456 is held for Claude Code's ~76 KB of input (its tools and prompt as a chat template and TGI's tojson would
  // write them): $0.47 leaves about 900 output tokens, so the clamp drops thinking.
  const { secret } = await gw.userWithKey({ id: 'dev', max_budget: 0.47 }, { user_field: 'tag', clamp_output: true })
  try {
    const result = await claudeOnce({ url: gw.url, secret, model: MODEL, prompt: 'Say hi' })
    expect(result.code, result.output).toBe(0)
    const sent = mock.calls.filter((c) => c.path === '/v1/messages').map((c) => c.body as any)
    expect(sent).toHaveLength(1)
    // The clamp did apply, below the 2048 tokens under which thinking is dropped.
    expect(sent[0].max_tokens).toBeLessThan(2048)
    // What Claude Code asked for, and what Anthropic would have done with the body the gateway sent.
    expect(anthropicRefusal(sent[0])).toBeNull()
  } finally {
    await gw.stop()
    await mock.stop()
  }
}, 90_000)
