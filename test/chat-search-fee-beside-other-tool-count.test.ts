import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, sseResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'
import { unbilledInputOf } from './support/unbilled-input'

/**
 * A chat usage counts only the tools it names. xAI's states `num_sources_used` on every answer (0 when Live Search
 * was not asked for), and a router may state an empty `server_tool_use`: neither counts the searches. Both were read
 * as "0 searches", and the one search held for `web_search_options` went unbilled. A search the usage does not count
 * is billed as held, as when it counts no tool at all. With cap-output on the input stays within the input held
 * (the search's 20,000-token allowance and the prompt as estimated); the rest is not charged, and /metrics counts it.
 *
 * plain:m: 1 µ$ an input token, 2 µ$ an output token, $0.01 a search.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    metrics_enabled: true,
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01 } } },
  },
  (s) => ({ upstream, gw } = s),
)

const INPUT = 150_000
const ALLOWANCE = 20_000
const SEARCH = 10_000

const chat = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_tokens: 64, web_search_options: {}, messages: [{ role: 'user', content: 'news on bun?' }], ...body }),
  })

/** The row of one chat request answered by `answer`: the search held billed, and the input held, the rest unbilled. */
async function expectSearchAndHeldInputBilled(id: string, body: Record<string, unknown>, answer: () => Response) {
  const { secret } = await gw.userWithKey({ id, max_budget: 10 })
  upstream.answer(answer)
  let row!: Awaited<ReturnType<typeof settledRow>>
  const unbilled = await unbilledInputOf(gw, 'plain', async () => {
    row = await settledRow(gw, id, async () => {
      const res = await chat(secret, body)
      expect(res.status).toBe(200)
      await res.text()
    })
  })
  expect(row.prompt_tokens).toBe(INPUT)
  const held = INPUT - unbilled
  expect(held).toBeGreaterThan(ALLOWANCE)
  expect(held).toBeLessThan(ALLOWANCE + 2_000)
  expect(row.cost).toBe(held + 3 * 2 + SEARCH)
}

describe('a chat usage counting another tool is no count of the searches', () => {
  test.each([
    ["xAI's num_sources_used: 0", { num_sources_used: 0 }],
    ["a router's empty server_tool_use", { server_tool_use: {} }],
  ])('chat JSON with web_search_options, usage with %s: the search held is billed', async (name, extra) => {
    await expectSearchAndHeldInputBilled(`other-count-${name.length}`, {}, () =>
      jsonResponse({
        id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Bun 1.4 shipped [1].' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: INPUT, completion_tokens: 3, total_tokens: INPUT + 3, ...extra },
      }),
    )
  })

  test("chat stream with web_search_options, usage chunk with xAI's num_sources_used: 0: the search held is billed", async () => {
    const chunk = (extra: Record<string, unknown>) => ({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', ...extra })
    await expectSearchAndHeldInputBilled('other-count-stream', { stream: true }, () =>
      sseResponse([
        openAIEvent(chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'Bun 1.4 shipped [1].' }, finish_reason: null }] })),
        openAIEvent(chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })),
        openAIEvent(chunk({ choices: [], usage: { prompt_tokens: INPUT, completion_tokens: 3, total_tokens: INPUT + 3, num_sources_used: 0 } })),
        openAIEvent('[DONE]'),
      ]),
    )
  })
})
