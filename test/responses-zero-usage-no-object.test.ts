import { afterAll, beforeAll, expect, test } from 'bun:test'
import { answerCarriesOutput } from '../src/metering/answer-output'
import type { TestGateway } from './support/gateway'
import { jsonResponse, scriptedGateway, type ScriptedUpstream, postResponses } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A usage of zeros beside output is no usage (relay.ts usageBesideOutput; README "A usage of 0 output tokens beside
 * output is no usage here either"). A compatible server's response object without `object: "response"`, whose
 * output is a message of text, with a usage of zeros, must not be billed $0 (SPEC §6: never free): its output is
 * read from its `output` list. Rates: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
const USER = 'responses-zero-usage-no-object'
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const post = (body: unknown) => postResponses(gw, secret, body)

test('a Responses answer without `object`, with output and a usage of zeros, is not free', async () => {
  const text = 'x'.repeat(4_000)
  upstream.answer(() =>
    jsonResponse({
      id: 'resp_no_object',
      status: 'completed',
      output: [{ id: 'msg_no_object', type: 'message', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }],
      usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
    }),
  )
  const row = await settledRow(gw, USER, async () => {
    const res = await post({ model: 'plain:m', input: 'write', max_output_tokens: 2_000 })
    expect(res.status).toBe(200)
  })
  expect(row.cost).toBeGreaterThan(0)
})

test('a Responses answer is read by its output list; a chat answer with an `output` field by its choices', () => {
  const message = (text: string) => ({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] })
  expect(answerCarriesOutput({ output: [message('hi')] })).toBe(true)
  expect(answerCarriesOutput({ output: [message('')] })).toBe(false)
  expect(answerCarriesOutput({ choices: [{ message: { role: 'assistant', content: '' } }], output: [message('hi')] })).toBe(false)
  expect(answerCarriesOutput({ choices: [{ message: { role: 'assistant', content: 'hi' } }], output: [] })).toBe(true)
})
