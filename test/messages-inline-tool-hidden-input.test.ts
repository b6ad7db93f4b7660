import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * An Anthropic tool defined in the conversation is held (and, with cap-output on, charged) the hidden input
 * Anthropic bills for it, as the same tool in `tools` is. Anthropic bills input the body does not show whenever a
 * request offers tools — its tool-use system prompt (346 tokens on Claude 4, auto; "Tool use pricing and tokens")
 * — and, for a tool it defines itself, that
 * tool's definition and instructions (computer use: a 466–499-token system prompt and 735 tokens a definition). The
 * estimate holds both for a tool in `tools` (TOOL_USE_OVERHEAD_TOKENS, ANTHROPIC_DEFINED_TOOL_TOKENS), and with
 * cap-output on, a text-only request is charged no more input than it held (README, Overshoot: "a token is at least
 * a byte, so its input estimate bounds what the provider can read").
 *
 * The same tool offered inline (the `inline-tools-…` beta: a `tool_addition` block carrying the definition, which the
 * gateway serves and bounds as one in `tools`, src/pricing/anthropic-inline-tools.ts) is read as one there: the
 * estimate adds the tool-use allowance once when any tool is offered anywhere, and each Anthropic-defined one's
 * hidden input, so the ~1,580 tokens Anthropic adds are held and charged like those of a tool in `tools`.
 *
 * ant:claude-sonnet-4-5 at 1 µ$ in, 2 µ$ out per token; cap-output on.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  { cap_output_tokens: true, pricing: { 'ant:claude-sonnet-4-5': { input_per_million: 1, output_per_million: 2 } } },
  (started) => ({ upstream, gw } = started),
)

const COMPUTER = { type: 'computer_20250124', name: 'computer', display_width_px: 1024, display_height_px: 768 }

/**
 * What Anthropic reports for such a request: the tool-use system prompt (346), the computer-use system prompt (499)
 * and its definition (735), and the few tokens of the text: 1,650 input; 10 output.
 */
const INPUT = 346 + 499 + 735 + 70
const OUTPUT = 10
const PROVIDER_COST = INPUT * 1 + OUTPUT * 2

const answer = () =>
  jsonResponse({
    id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'ok' }],
    stop_reason: 'end_turn', stop_sequence: null,
    usage: { input_tokens: INPUT, output_tokens: OUTPUT, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
  })

const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: {
      'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json',
      'anthropic-beta': 'inline-tools-2026-09-15,computer-use-2025-01-24',
    },
    body: JSON.stringify({ model: 'ant:claude-sonnet-4-5', max_tokens: OUTPUT, ...body }),
  })

const run = async (user: string, body: Record<string, unknown>) => {
  upstream.answer(answer)
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  return settledRow(gw, user, async () => {
    const res = await post(secret, body)
    expect(res.status).toBe(200)
    await res.text()
  })
}

describe('an Anthropic-defined tool offered inline is billed its hidden input, as one in tools is', () => {
  test('control: the computer tool in `tools` is charged what Anthropic bills', async () => {
    const row = await run('ji-tools', { tools: [COMPUTER], messages: [{ role: 'user', content: 'Take a screenshot.' }] })
    expect(row.cost).toBe(PROVIDER_COST)
  })

  test('the same tool in a tool_addition block in `system` is charged what Anthropic bills', async () => {
    const row = await run('ji-inline-system', {
      system: [{ type: 'tool_addition', tool: { type: 'tool_definition', definition: COMPUTER } }],
      messages: [{ role: 'user', content: 'Take a screenshot.' }],
    })
    expect(upstream.calls.at(-1)!.body.system[0].tool.definition).toEqual(COMPUTER)
    expect(row.prompt_tokens).toBe(INPUT)
    expect(row.cost).toBe(PROVIDER_COST)
  })

  test('the same tool in a tool_addition block in a message is charged what Anthropic bills', async () => {
    const row = await run('ji-inline-message', {
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Take a screenshot.' }, { type: 'tool_addition', tool: { type: 'tool_definition', definition: COMPUTER } }] }],
    })
    expect(row.prompt_tokens).toBe(INPUT)
    expect(row.cost).toBe(PROVIDER_COST)
  })

  test('a plain client tool defined inline is charged the tool-use system prompt Anthropic bills for it', async () => {
    // Anthropic: 346 tokens of tool-use system prompt (Claude 4, auto) on top of the ~60 tokens the body shows.
    const input = 346 + 60
    upstream.answer(() =>
      jsonResponse({
        id: 'msg_2', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: input, output_tokens: OUTPUT },
      }),
    )
    const { secret } = await gw.userWithKey({ id: 'ji-inline-function', max_budget: 10 })
    const tool = { name: 'lookup', description: 'look a word up', input_schema: { type: 'object', properties: { word: { type: 'string' } } } }
    const row = await settledRow(gw, 'ji-inline-function', async () => {
      const res = await post(secret, { messages: [{ role: 'user', content: [{ type: 'text', text: 'Define "toll".' }, { type: 'tool_addition', tool: { type: 'tool_definition', definition: tool } }] }] })
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(row.cost).toBe(input + OUTPUT * 2)
  })
})
