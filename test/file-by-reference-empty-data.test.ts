import { describe, expect, test } from 'bun:test'
import { estimateChat, estimateResponses } from '../src/budget/estimate'
import { blankPdf } from './support/pdf'
import type { TestGateway } from './support/gateway'
import { jsonResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A file part that names a file by reference (`file_id`, `file_url`) is held as a file by reference, whatever
 * `file_data` it carries too: an OpenAI-compatible server that tests the field for truth (`if
 * file.get("file_data")`, as Python servers do) reads the file by its id when the data is an empty string,
 * and a PDF there bills per page; with both, which one a server reads is its choice. With cap-output on the
 * hold must bound whichever the provider reads: the request's page maximum (100 × 3,000 tokens), and the
 * inline bytes if more. (Such a part was held as inline data at the media bound, 4,096 tokens.)
 * Rates: 1 and 2 µ$ a token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const billed150k = (id: string) => () =>
  jsonResponse({
    id: `resp_${id}`, object: 'response', status: 'completed', model: 'm',
    usage: { input_tokens: 150_020, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 150_036 },
    output: [{ type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'summary', annotations: [] }] }],
  })

describe('a file part naming a file id with an empty file_data is still a file by reference (cap-output on)', () => {
  test('Responses input_file {file_id, file_data: ""}: a 50-page PDF billed 150,020 tokens cannot pass a $0.05 budget', async () => {
    const id = 'rt-w-empty-data'
    const { secret } = await gw.userWithKey({ id, max_budget: 0.05 })
    upstream.answer(billed150k(id))
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'plain:m', max_output_tokens: 16, store: false,
        input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-abc123', file_data: '' }, { type: 'input_text', text: 'Summarise' }] }],
      }),
    })
    await res.text()
    await gw.settled()
    const user = (await gw.admin('GET', `/v1/users/${id}`)).body
    expect(user.spend).toBeLessThanOrEqual(user.max_budget)
    expect(res.status).toBe(402)
  })
})

describe('the estimate of a file part that names a file and carries data too (hard bounds)', () => {
  const o = { defaultMaxOutputTokens: 16, mediaPartTokens: 4096, hardBounds: true }
  const pageMaximum = 100 * 3000
  const responses = (part: Record<string, unknown>) => estimateResponses({ input: [{ role: 'user', content: [part] }] }, o).inputTokens
  const chat = (file: Record<string, unknown>) => estimateChat({ messages: [{ role: 'user', content: [{ type: 'file', file }] }] }, o).inputTokens

  test('an empty file_data next to a file_id or file_url: by reference', () => {
    expect(responses({ type: 'input_file', file_id: 'file-abc123', file_data: '' })).toBeGreaterThanOrEqual(pageMaximum)
    expect(responses({ type: 'input_file', file_url: 'https://example.com/a.pdf', file_data: '' })).toBeGreaterThanOrEqual(pageMaximum)
    expect(chat({ file_id: 'file-abc123', file_data: '' })).toBeGreaterThanOrEqual(pageMaximum)
  })

  test('an empty file_data alone names nothing the gateway can read either: by reference', () => {
    expect(responses({ type: 'input_file', file_data: '' })).toBeGreaterThanOrEqual(pageMaximum)
    expect(chat({ file_data: '' })).toBeGreaterThanOrEqual(pageMaximum)
  })

  test('inline data next to a file id: the larger of the two, its bytes counted too', () => {
    const data = 'data:text/plain;base64,' + 'QUFB'.repeat(100_000) // 400,000 characters of inline data
    expect(responses({ type: 'input_file', file_id: 'file-abc123', file_data: data })).toBeGreaterThanOrEqual(400_000)
    expect(responses({ type: 'input_file', file_id: 'file-abc123', file_data: 'QUFB' })).toBeGreaterThanOrEqual(pageMaximum)
  })

  test('inline data alone is still counted inline', () => {
    expect(responses({ type: 'input_file', filename: 'a.txt', file_data: 'QUFB' })).toBeLessThan(pageMaximum)
    expect(chat({ filename: 'a.txt', file_data: 'QUFB' })).toBeLessThan(pageMaximum)
  })
})

describe('the estimate of a file part that names a file and carries a PDF too (cap-output off)', () => {
  const o = { defaultMaxOutputTokens: 16, mediaPartTokens: 4096 }
  test('counts the inline PDF\'s pages, as it would without the file id', () => {
    const data = `data:application/pdf;base64,${blankPdf(50).toString('base64')}`
    const alone = estimateResponses({ input: [{ role: 'user', content: [{ type: 'input_file', filename: 'a.pdf', file_data: data }] }] }, o).inputTokens
    const withId = estimateResponses({ input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-abc123', filename: 'a.pdf', file_data: data }] }] }, o).inputTokens
    expect(alone).toBeGreaterThanOrEqual(50 * 3000)
    expect(withId).toBeGreaterThanOrEqual(alone)
  })
})
