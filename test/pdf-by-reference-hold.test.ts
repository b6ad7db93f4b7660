import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A Responses `input_file` by `file_id` (or `file_url`) that the provider resolves to a PDF is billed per page
 * (its text and an image of each page): a 50-page PDF ~150,000 tokens. Its bytes are not in the request, so with
 * cap-output on (SPEC §6: `spend <= max_budget` is an invariant) it is held as the most PDF pages a request may
 * carry (`TOLLGATE_PDF_MAX_PAGES` × `TOLLGATE_PDF_PAGE_TOKENS`: 100 × 3,000 by default), not at the media bound
 * (4,096 by default, which still applies with cap-output off). Rates: 1 and 2 µ$ a token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

describe('a file by reference is held at its worst case with cap-output on', () => {
  for (const ref of [{ file_id: 'file-abc123' }, { file_url: 'https://example.com/report.pdf' }])
    test(`input_file by ${Object.keys(ref)[0]}: a 50-page PDF the provider bills 150,000 tokens for cannot pass a $0.05 budget`, async () => {
      const id = `pdf-${Object.keys(ref)[0]!.replace('_', '-')}`
      const { secret } = await gw.userWithKey({ id, max_budget: 0.05 })
      upstream.answer(() => jsonResponse({
        id: `resp_${id}`, object: 'response', status: 'completed', model: 'm',
        usage: { input_tokens: 150_020, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 150_036 },
        output: [{ type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'summary', annotations: [] }] }],
      }))
      const res = await fetch(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'plain:m', max_output_tokens: 16, store: false, input: [{ role: 'user', content: [{ type: 'input_file', ...ref }, { type: 'input_text', text: 'Summarise' }] }] }),
      })
      await res.text()
      await gw.settled()
      const user = (await gw.admin('GET', `/v1/users/${id}`)).body
      // Before the fix: held at the 4,096-token media bound, served, spend 0.150052 of 0.05.
      expect(user.spend).toBeLessThanOrEqual(user.max_budget)
      expect(res.status).toBe(402)
    })
})
