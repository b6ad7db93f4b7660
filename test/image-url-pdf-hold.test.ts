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
import { blankPdf } from './support/pdf'
import { withPdfHoldGateway } from './support/pdf-hold'
import { CAPPED_PLAIN_M } from './support/scripted-upstream'

const holds = withPdfHoldGateway(CAPPED_PLAIN_M)

const PAGES = 100
const BILLED_INPUT = PAGES * 1_500

test('a data:application/pdf URL in an image_url part is held at its pages: spend never passes max_budget', async () => {
  const pdf = blankPdf(PAGES).toString('base64')
  expect(pdf.length).toBeLessThan(12_000)
  // Its bytes (~10k tokens, ~$0.01) fit; its pages (100 × 3,000 tokens, $0.30) do not.
  const { status, calls, user } = await holds.send(
    'image-url-pdf',
    '/v1/chat/completions',
    {
      model: 'plain:m',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise.' }, { type: 'image_url', image_url: { url: `data:application/pdf;base64,${pdf}` } }] }],
    },
    BILLED_INPUT,
  )
  // Before the fix: 200, the provider called, spend 0.15002 past max_budget 0.05 (the hold counted the PDF's bytes).
  expect(user.spend).toBeLessThanOrEqual(user.max_budget)
  expect(status).toBe(402)
  expect(calls).toHaveLength(0)
})
