import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A part that says it is audio needs the row's audio rate (402 `pricing_required` without it). The sniff
 * (`sniffedMedia`, src/budget/part-media.ts) called any inline data whose first two bytes carry 11 bits of MPEG frame
 * sync (`FF Ex`/`FF Fx`) audio, over the media type the part declares. A UTF-16LE text file starts with its
 * byte-order mark `FF FE` (Windows Notepad's "Unicode", PowerShell's `>`, Excel's "Unicode text"): `notes.txt`,
 * declared `text/plain`, was refused as unpriced audio input; so was a text file starting `ID3`. A declared type
 * other than `application/octet-stream` now wins over the bytes, and an MPEG frame or ID3 tag must be a valid one.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:google/gemini-2.5-flash'

withScriptedGateway(
  {
    cap_output_tokens: true,
    // No audio_input_per_million: the operator priced this model's text input only.
    pricing: { [MODEL]: { input_per_million: 0.3, output_per_million: 2.5, context_window_tokens: 1_048_576 } },
  },
  (started) => ({ upstream, gw } = started),
)

const answers = ({ body }: ScriptedCall) =>
  jsonResponse({
    id: 'gen-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 300, completion_tokens: 2, total_tokens: 302 },
  })

async function send(part: unknown, user: string) {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the notes.' }, part] }] }),
  })
  const body = (await res.json()) as { error?: { code?: string } }
  return { status: res.status, code: body.error?.code ?? null }
}

// "Meeting notes: ship Friday." saved as UTF-16LE with its BOM, as Windows tools write "Unicode" text.
const UTF16_NOTES = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Meeting notes: ship Friday.\r\n', 'utf16le')]).toString('base64')

test('control: the same notes in UTF-8 are served', async () => {
  upstream.answer(answers)
  const part = { type: 'file', file: { file_data: `data:text/plain;base64,${Buffer.from('Meeting notes: ship Friday.\r\n').toString('base64')}`, filename: 'notes.txt' } }
  expect(await send(part, 'gd-utf8-notes')).toEqual({ status: 200, code: null })
})

test('a UTF-16LE text file (BOM FF FE) declared text/plain, notes.txt, is not refused as unpriced audio input', async () => {
  upstream.answer(answers)
  const part = { type: 'file', file: { file_data: `data:text/plain;base64,${UTF16_NOTES}`, filename: 'notes.txt' } }
  expect(await send(part, 'gd-utf16-notes')).toEqual({ status: 200, code: null })
})

test('a UTF-16LE text file as a Responses input_file is not refused as unpriced audio input', async () => {
  upstream.answer(({ body }: ScriptedCall) =>
    jsonResponse({
      id: 'resp_1', object: 'response', created_at: 1, model: body.model, status: 'completed',
      output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
      usage: { input_tokens: 300, output_tokens: 2, total_tokens: 302 },
    }))
  const { secret } = await gw.userWithKey({ id: 'gd-utf16-responses', max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: MODEL, max_output_tokens: 16, store: false,
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'Summarise the notes.' }, { type: 'input_file', filename: 'notes.txt', file_data: `data:text/plain;base64,${UTF16_NOTES}` }] }],
    }),
  })
  const body = (await res.json()) as { error?: { code?: string } }
  expect({ status: res.status, code: body.error?.code ?? null }).toEqual({ status: 200, code: null })
})

test('a plain text file that starts "ID3" (a note about MP3 tags), declared text/plain, is not refused as audio input', async () => {
  upstream.answer(answers)
  const text = Buffer.from('ID3v2 tags sit at the start of an MP3 file; here is how we parse them.\n').toString('base64')
  const part = { type: 'file', file: { file_data: `data:text/plain;base64,${text}`, filename: 'id3-notes.txt' } }
  expect(await send(part, 'gd-id3-notes')).toEqual({ status: 200, code: null })
})
