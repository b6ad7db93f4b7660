import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { formDrawnPdf } from './support/pdf'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A page's text is not only in its `/Contents`: a Form XObject's text is shown each time the page draws it (`/X Do`),
 * and readers extract it each time (pypdf 6.19 reads 1,200,299 characters, 300,000 "the", from this PDF's one page;
 * pdf.js does the same). The estimate counted the form's stream once and the page's content by its bytes (300 ×
 * "/X Do\n" = 1.8 kB): ~5.8 kB of text, bounded, for ~300,000 tokens a provider extracts, from a PDF of ~800 bytes.
 * With cap-output on, SPEC §6 makes spend <= max_budget an invariant. At $1/M input and $2/M output.
 */
const BILLED_INPUT = 300_000

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ cap_output_tokens: true, pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

test('a page that draws a Form XObject of 4 kB of text 300 times is held for the 1.2 MB a reader extracts', async () => {
  const pdf = formDrawnPdf('the '.repeat(1000), 300).toString('base64')
  upstream.answer(() =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Done.' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: BILLED_INPUT, output_tokens: 10 },
    }),
  )
  const { secret } = await gw.userWithKey({ id: 'form-drawn', max_budget: 0.05 })
  const res = await fetch(gw.url + '/v1/messages', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'ant:m',
      max_tokens: 100,
      messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf } }, { type: 'text', text: 'Summarise.' }] }],
    }),
  })
  await res.text()
  await gw.settled()
  const user = (await gw.admin('GET', '/v1/users/form-drawn')).body
  expect({ status: res.status, calls: upstream.calls.length, spendWithinBudget: user.spend <= user.max_budget, spend: user.spend }).toEqual({
    status: 402, calls: 0, spendWithinBudget: true, spend: 0,
  })
})
