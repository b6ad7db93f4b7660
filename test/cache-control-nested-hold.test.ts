import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * SPEC §6 with cap-output on: `spend <= max_budget`, the estimate priced "at the dearest applicable rate".
 * Anthropic takes `cache_control` on any text block, including the text blocks of a custom-content document
 * (`{type: 'document', source: {type: 'content', content: [{type: 'text', text, cache_control}]}}`), and bills
 * what it writes at the cache-write rate of its lifetime (1h: 2× input). Such a request marks cache writes as
 * surely as one whose cache_control sits on a message's own block, so its hold must cover them.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2, cache_write_1h_per_million: 2 } },
  },
  (s) => ({ upstream, gw } = s),
)

/** The largest legitimate usage: every prompt token the request carries written to the 1-hour cache, every output token. */
const allWrittenFor1h = (written: number) => ({ body }: { body: any }) =>
  jsonResponse({
    id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'x' }],
    stop_reason: 'max_tokens', stop_sequence: null,
    usage: {
      input_tokens: 0, output_tokens: body.max_tokens, cache_read_input_tokens: 0, cache_creation_input_tokens: written,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: written },
    },
  })

describe('cap-output on: cache_control nested in other blocks is held at the cache-write rate', () => {
  test('a 1h cache write marked inside document.source.content never takes spend past max_budget', async () => {
    const text = 'z'.repeat(20_000)
    upstream.answer(allWrittenFor1h(20_000))
    const body = {
      model: 'ant:m',
      max_tokens: 10,
      messages: [{
        role: 'user',
        content: [
          { type: 'document', source: { type: 'content', content: [{ type: 'text', text, cache_control: { type: 'ephemeral', ttl: '1h' } }] } },
          { type: 'text', text: 'summarise' },
        ],
      }],
    }
    const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/messages', body, 'af-doc-cc')
    expect(second.status).toBe(200)
    // 20,000 cache-written tokens at $2/M (40,000 µ$) + 10 output at $2/M; the hold priced them at the $1/M input rate.
    expect(spend).toBeLessThanOrEqual(budget)
  })

  test('a 1h cache write marked inside a tool result\'s document never takes spend past max_budget', async () => {
    upstream.answer(allWrittenFor1h(20_000))
    const body = {
      model: 'ant:m',
      max_tokens: 10,
      messages: [
        { role: 'user', content: 'read it' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'read', input: {} }] },
        {
          role: 'user',
          content: [{
            type: 'tool_result', tool_use_id: 'toolu_1',
            content: [{ type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'z'.repeat(20_000), cache_control: { type: 'ephemeral', ttl: '1h' } }] } }],
          }],
        },
      ],
      tools: [{ name: 'read', description: 'reads', input_schema: { type: 'object', properties: {} } }],
    }
    const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/messages', body, 'af-tool-doc-cc')
    expect(second.status).toBe(200)
    expect(spend).toBeLessThanOrEqual(budget)
  })
})
