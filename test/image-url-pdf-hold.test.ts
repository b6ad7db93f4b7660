/**
 * LiteLLM (an OpenAI-compatible router a `type: openai` provider takes) documents PDF input on chat completions as an
 * `image_url` part whose URL is a PDF, by URL or as a `data:application/pdf;base64,…` URL ("Using PDF Input": Anthropic,
 * Bedrock and Vertex models), and sends it on as a document, billed per page. The estimate reads an `image_url` part as
 * an image whatever its data URL declares: it counts the bytes (a 100-page blank PDF is ~10 kB of base64) and never its
 * pages, as it does for the same PDF in a `file` part (test/pdf-hold.test.ts). With cap-output on, SPEC §6 makes
 * spend <= max_budget an invariant.
 *
 * plain:m costs 1 µ$ an input token, 2 µ$ an output token; cap-output's max is 64.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { blankPdf } from './support/pdf'
import { CAPPED_PLAIN_M, jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(CAPPED_PLAIN_M, (s) => ({ upstream, gw } = s))

const PAGES = 100
const BILLED_INPUT = PAGES * 1_500

test('a data:application/pdf URL in an image_url part is held at its pages: spend never passes max_budget', async () => {
  const pdf = blankPdf(PAGES).toString('base64')
  expect(pdf.length).toBeLessThan(12_000)
  upstream.answer(() =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Done.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: BILLED_INPUT, completion_tokens: 10, total_tokens: BILLED_INPUT + 10 },
    }),
  )
  // Its bytes (~10k tokens, ~$0.01) fit; its pages (100 × 3,000 tokens, $0.30) do not.
  const { secret } = await gw.userWithKey({ id: 'image-url-pdf', max_budget: 0.05 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'plain:m',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise.' }, { type: 'image_url', image_url: { url: `data:application/pdf;base64,${pdf}` } }] }],
    }),
  })
  await res.text()
  await gw.settled()
  const user = (await gw.admin('GET', '/v1/users/image-url-pdf')).body
  // Before the fix: 200, the provider called, spend 0.15002 past max_budget 0.05 (the hold counted the PDF's bytes).
  expect(user.spend).toBeLessThanOrEqual(user.max_budget)
  expect(res.status).toBe(402)
  expect(upstream.calls).toHaveLength(0)
})
