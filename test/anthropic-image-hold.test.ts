import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Chat completions translated for an Anthropic provider, cap-output on (SPEC §6: `spend <= max_budget` is an
 * invariant): a chat `image_url` by URL becomes an Anthropic image block `{source: {type: "url"}}`, which
 * Anthropic fetches and bills at ~(width × height) / 750 tokens after downscaling to the model's limit.
 * Claude Opus 4.7 takes 2,576 px on the long edge (~3.75 megapixels: 2576 × 1456 / 750 = 5,001 tokens), more
 * than the 4,096-token media bound, so an image to Anthropic is held at ANTHROPIC_IMAGE_MAX_TOKENS.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const OPUS_47_IMAGE_TOKENS = Math.ceil((2576 * 1456) / 750) // 5,001

withScriptedGateway({ cap_output_tokens: true, pricing: { 'ant:claude-opus-4-7': { input_per_million: 5, output_per_million: 25 } } }, (started) => ({ upstream, gw } = started))

test('cap-output on: chat → Anthropic, a 2576-px screenshot by URL billed as Opus 4.7 bills it never takes spend past max_budget', async () => {
  upstream.answer(({ body }) => {
    // What Anthropic bills for what it received: the text, and each image block at its full-resolution tokens.
    const blocks = (body.messages as Array<{ content: Array<{ type: string; text?: string }> }>).flatMap((m) => m.content)
    const images = blocks.filter((b) => b.type === 'image').length
    const text = blocks.reduce((n, b) => n + (b.text?.length ?? 0), 0)
    return jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: images * OPUS_47_IMAGE_TOKENS + text + 10, output_tokens: 16, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    })
  })
  const body = {
    model: 'ant:claude-opus-4-7',
    max_completion_tokens: 16,
    messages: [{ role: 'user', content: [
      { type: 'text', text: 'What does the dialog say?' },
      { type: 'image_url', image_url: { url: 'https://example.com/screenshot-2576x1456.png' } },
    ] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'opus')
  expect(upstream.calls.at(-1)!.body.messages[0].content[1]).toEqual({ type: 'image', source: { type: 'url', url: 'https://example.com/screenshot-2576x1456.png' } })
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
