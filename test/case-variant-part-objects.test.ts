/**
 * README (Routes): where the gateway reads the API's fields every key must be in lowercase, and a key with a capital
 * there is refused with 400 case_variant_key before any hold. The estimate and the billing rules read fields one
 * object below a part or item: a chat `image_url` part's `image_url.detail` (an image at `detail: "original"` is held
 * at its largest size), a chat `file` part's `file.file_id` / `file.file_data` (a file by reference is held at its
 * bound), the `type` of a tool an `additional_tools` item offers. Checked only down to the part, item or tool,
 * `{"detail":"low","Detail":"original"}` was held as a low-detail image and sent on, and a Go server
 * (encoding/json: case-insensitive, last spelling wins) read `detail: "original"`; likewise a small inline PDF beside
 * `File_Id` was held as its few bytes while the server read the file by id.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let gw: TestGateway
let upstream: ScriptedUpstream
let secret: string

withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }, (started) => {
  ;({ gw, upstream } = started)
})

const completion = { id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 } }

async function post(content: unknown[]) {
  if (!secret) ({ secret } = await gw.userWithKey({ id: 'part-objects', max_budget: 100 }))
  upstream.answer(() => jsonResponse(completion))
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    // Written by hand: both spellings in one object, the case variant last (as Go reads it).
    body: `{"model":"plain:m","max_tokens":5,"messages":[{"role":"user","content":${JSON.stringify(content)}}]}`,
  })
  return { status: res.status, body: (await res.json()) as { error?: { code?: string } } }
}

test('an image_url part whose image_url carries "Detail" beside "detail" is refused (400 case_variant_key), not sent on', async () => {
  const answer = await post([{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low', Detail: 'original' } }])
  expect(upstream.calls.length).toBe(0)
  expect(answer.status).toBe(400)
  expect(answer.body.error?.code).toBe('case_variant_key')
})

test('a file part whose file carries "File_Id" beside inline data is refused (400 case_variant_key), not sent on', async () => {
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Page>>endobj\n%%EOF').toString('base64')
  const answer = await post([{ type: 'text', text: 'read' }, { type: 'file', file: { file_data: `data:application/pdf;base64,${pdf}`, filename: 'a.pdf', File_Id: 'file-huge' } }])
  expect(upstream.calls.length).toBe(0)
  expect(answer.status).toBe(400)
  expect(answer.body.error?.code).toBe('case_variant_key')
})

test('a tool offered in a Responses additional_tools item with "Type" beside "type" is refused (400 case_variant_key), not sent on', async () => {
  if (!secret) ({ secret } = await gw.userWithKey({ id: 'part-objects', max_budget: 100 }))
  upstream.answer(() => jsonResponse({ id: 'resp_1', object: 'response', status: 'completed', model: 'm', output: [], usage: { input_tokens: 10, output_tokens: 1, total_tokens: 11 } }))
  // The gateway reads the tool's `type` (a function: free); a Go server reads the last spelling, `web_search` (billed per call, unpriced here).
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: `{"model":"plain:m","max_output_tokens":5,"store":false,"input":[{"role":"user","content":"hi"},{"type":"additional_tools","tools":[{"type":"function","name":"f","parameters":{"type":"object"},"Type":"web_search"}]}]}`,
  })
  const body = (await res.json()) as { error?: { code?: string } }
  expect(upstream.calls.length).toBe(0)
  expect(res.status).toBe(400)
  expect(body.error?.code).toBe('case_variant_key')
})
