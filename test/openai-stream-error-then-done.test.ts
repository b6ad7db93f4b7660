import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { openAIEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow, type UsageRow } from './support/settled-row'

/**
 * vLLM's chat stream generator, on a failure before any token (its tool or reasoning parser failing to start, an
 * engine error), yields `data: {"error": ...}` and then, as every stream of it ends, `data: [DONE]`
 * (vllm/entrypoints/openai/serving_chat.py: `data = self.create_streaming_error_response(e); yield f"data: {data}\n\n";
 * yield "data: [DONE]\n\n"`). SPEC §6: "Upstream error before any output: release (no charge)" — as the gateway
 * does when the same error event is not followed by [DONE]. The [DONE] does not turn the provider's failure into
 * a finished answer paid at its full hold and recorded `ok`; after some output, the stream pays as a failed one
 * (its input estimate and the output delivered), and a final usage after the error is still the provider's bill.
 * Rates: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
const USER = 'chat-error-then-done'
beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const vllmError = { object: 'error', message: 'Error in tool parser creation.', type: 'BadRequestError', param: null, code: 400 }
const chunk = (content: string) => ({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })

async function streamed(): Promise<UsageRow> {
  return settledRow(gw, USER, async () => {
    const res = await fetch(gw.url + '/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_tokens: 1_000, stream: true, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }], messages: [{ role: 'user', content: 'hello' }] }),
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('Error in tool parser creation.')
  })
}

test('an error event before any output, stream closed: released', async () => {
  upstream.answer(() => sseResponse([openAIEvent({ error: vllmError })]))
  expect(await streamed()).toMatchObject({ status: 'error', cost: 0 })
})

test("the same error event followed by vLLM's [DONE]: released too, not charged the hold as a finished answer", async () => {
  upstream.answer(() => sseResponse([openAIEvent({ error: vllmError }), openAIEvent('[DONE]')]))
  expect(await streamed()).toMatchObject({ status: 'error', cost: 0 })
})

test('after some output, an error and [DONE]: paid as a failed stream (its output delivered), not the hold', async () => {
  upstream.answer(() => sseResponse([openAIEvent(chunk('Hello')), openAIEvent({ error: vllmError }), openAIEvent('[DONE]')]))
  const row = await streamed()
  expect(row).toMatchObject({ status: 'error', completion_tokens: 5 })
  expect(row.cost).toBeGreaterThan(0)
  expect(row.cost).toBeLessThan(row.reserved)
})

test('an error, then the final usage chunk and [DONE]: billed that usage', async () => {
  upstream.answer(() =>
    sseResponse([
      openAIEvent(chunk('Hello')),
      openAIEvent({ error: vllmError }),
      openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 20, completion_tokens: 2, total_tokens: 22 } }),
      openAIEvent('[DONE]'),
    ]),
  )
  expect(await streamed()).toMatchObject({ cost: 20 + 2 * 2, completion_tokens: 2 })
})
