import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A UTF-16LE text file typed `application/octet-stream` is not refused as audio input. A browser's
 * `FileReader.readAsDataURL` types a file whose extension it has no type for so (`.md`, `.log`, `.csv` on many
 * systems), which leaves what it is to its first bytes; and a UTF-16LE text's byte-order mark `FF FE` is an MPEG
 * audio frame header's sync, MPEG-1 and Layer I, its first character a valid bitrate and sample rate three times in
 * four (`D`, `#`, `B`…). `export.csv` saved as "Unicode text" (as Excel and PowerShell write it) was refused 402
 * `pricing_required` as unpriced audio, which the chat UI cannot avoid. MPEG and ADTS audio is told by a second
 * frame header where the first frame ends, as decoders find a stream (part-media.test.ts has the frames).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:google/gemini-2.5-flash'

withScriptedGateway(
  {
    cap_output_tokens: true,
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
    body: JSON.stringify({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the export.' }, part] }] }),
  })
  const body = (await res.json()) as { error?: { code?: string } }
  return { status: res.status, code: body.error?.code ?? null }
}

const utf16 = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]).toString('base64')

test('control: the same export in UTF-8, typed application/octet-stream, is served', async () => {
  upstream.answer(answers)
  const part = { type: 'file', file: { file_data: `data:application/octet-stream;base64,${Buffer.from('Name,Total\r\nAda,12\r\n').toString('base64')}`, filename: 'export.csv' } }
  expect(await send(part, 'gk-utf8-csv')).toEqual({ status: 200, code: null })
})

const FILES: Array<[string, string]> = [
  ['export.csv', 'Date,Total\r\n2026-12-01,12\r\n'],
  ['meeting.md', '# Meeting\r\nship Friday\r\n'],
  ['build.log', 'Build started\r\n'],
]

for (const [name, text] of FILES) {
  test(`a UTF-16LE ${name} typed application/octet-stream (as FileReader types it) is not refused as unpriced audio`, async () => {
    upstream.answer(answers)
    const part = { type: 'file', file: { file_data: `data:application/octet-stream;base64,${utf16(text)}`, filename: name } }
    expect(await send(part, `gk-utf16-${name.replace('.', '-')}`)).toEqual({ status: 200, code: null })
  })
}
