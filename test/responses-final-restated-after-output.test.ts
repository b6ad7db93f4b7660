import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { scriptedGateway, type ScriptedUpstream, sseResponse } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Mutation guard: a Responses final event repeated after more output stands for that output only if it
 * counts MORE of it (src/metering/responses-stream.ts: "accounts for output delivered since only if it counts more of
 * it"). Existing tests repeat a smaller usage, or none, so `>` → `>=` survived: the same 1-token usage restated after
 * 20,000 bytes delivered bills them as 1 token. plain:m: 1 µ$ in, 2 µ$ out (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('kc-resp-restated'))
})
afterAll(() => stop())

const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`
const BIG = 'z'.repeat(20_000)
const created = { type: 'response.created', response: { id: 'resp_1', object: 'response', status: 'in_progress', output: [] } }
const text = (delta: string) => ({ type: 'response.output_text.delta', item_id: 'm1', output_index: 0, content_index: 0, delta })
const completed = { type: 'response.completed', response: { id: 'resp_1', object: 'response', status: 'completed', output: [], usage: { input_tokens: 20, output_tokens: 1, total_tokens: 21 } } }

test('output after response.completed, then the same completed event again: the output is not billed as 1 token', async () => {
  upstream.answer(() => sseResponse([created, text('ok'), completed, text(BIG), completed].map(event)))
  let body = ''
  const row = await settledRow(gw, 'kc-resp-restated', async () => {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_output_tokens: 4_000, stream: true, store: false, input: 'Write a lot' }),
    })
    expect(res.status).toBe(200)
    body = await res.text()
  })
  expect(body.includes(BIG)).toBe(true)
  expect(row.cost).toBeGreaterThanOrEqual(row.reserved)
})
