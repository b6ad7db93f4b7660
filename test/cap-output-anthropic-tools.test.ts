import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Cap-output on: the input Anthropic adds for the tools it defines itself (computer use, the text editor,
 * bash: their definitions and instructions, unseen in the body) is within the hold, so spend stays within
 * max_budget. Rates are whole USD per million tokens: a token at $N/M costs exactly N micro-USD.
 */
let upstream: ScriptedUpstream
let capped: TestGateway
let secret: string
const USER = 'team-anthropic-tools-capped'

beforeAll(async () => {
  upstream = startScriptedUpstream()
  capped = await startTestGateway({ config: { providers: scriptedProviders(upstream), cap_output_tokens: true, pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } } })
  secret = (await capped.userWithKey({ id: USER, max_budget: 100 })).secret
})
afterAll(async () => {
  await capped.stop()
  await upstream.stop()
})

describe('cap-output on: the input Anthropic adds for its own client tools is within the hold', () => {
  // Documented hidden input (Anthropic's tool docs): computer use 466–499 system-prompt tokens plus 735 per
  // computer tool definition (Claude 4), the text editor 700, bash 245. (The 346-token general tool-use
  // prompt, covered by the tool-use allowance, is left out: conservative.)
  const TOOLS = [
    { type: 'computer_20250124', name: 'computer', display_width_px: 1024, display_height_px: 768 },
    { type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' },
    { type: 'bash_20250124', name: 'bash' },
  ]
  const HIDDEN = 499 + 735 + 700 + 245

  test('a request that used all its output is charged no more than its hold, so spend stays within max_budget', async () => {
    const body = { model: 'ant:m', max_tokens: 50, messages: [{ role: 'user', content: 'Take a screenshot.' }], tools: TOOLS }
    upstream.answer(() =>
      jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'x'.repeat(50) }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: HIDDEN + 30, output_tokens: 50 } }),
    )
    let status = 0
    const row = await settledRow(capped, USER, async () => {
      const res = await fetch(capped.url + '/v1/messages', {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      status = res.status
      await res.text()
    })
    expect(status).toBe(200)
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
  })
})
