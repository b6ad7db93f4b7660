import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { toUnicodePdf } from './support/pdf'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * The estimate held a page's text at the decoded bytes of its content streams ("a token is at least one byte"), but a
 * reader's text is not the content's bytes: it maps each character code through the font's `/ToUnicode` CMap, and one
 * code may map to a long string (`beginbfchar <01> <UTF-16BE of 240 characters>`). This PDF (~900 bytes) shows 5,000
 * codes `<01>`: it was held at ~11 kB of text, bounded; pypdf 6.19 extracts 1,200,000 characters (300,000 "the") from
 * its one page. With cap-output on, SPEC §6 makes spend <= max_budget an invariant. At $1/M input and $2/M output.
 */
const BILLED_INPUT = 300_000

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ cap_output_tokens: true, pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

test('a page whose 5,000 codes a ToUnicode CMap maps to 240 characters each is held for the 1.2 MB a reader extracts', async () => {
  const pdf = toUnicodePdf(5000, 'the '.repeat(60)).toString('base64')
  upstream.answer(() =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Done.' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: BILLED_INPUT, output_tokens: 10 },
    }),
  )
  const { secret } = await gw.userWithKey({ id: 'tounicode', max_budget: 0.05 })
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
  const user = (await gw.admin('GET', '/v1/users/tounicode')).body
  expect({ status: res.status, calls: upstream.calls.length, spendWithinBudget: user.spend <= user.max_budget, spend: user.spend }).toEqual({
    status: 402, calls: 0, spendWithinBudget: true, spend: 0,
  })
})
