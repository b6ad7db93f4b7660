import { expect, test } from 'bun:test'
import { deflateRawSync } from 'node:zlib'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * The Responses API takes non-PDF documents inline as `input_file.file_data` (.docx, .pptx, .xlsx: "the API
 * extracts text only", https://developers.openai.com/api/docs/guides/file-inputs). Those are ZIP containers of
 * deflated text, so their bytes do not bound what the provider reads: a 5 KB .docx carries 1.2 MB of text, which
 * the provider bills as extracted (here 240,000 tokens, one per 5-byte word, inside gpt-4.1's 1,047,576-token
 * window the price row states). With cap-output on (SPEC §6: `spend <= max_budget`) an inline ZIP, or a file
 * declared an office document, is held as a file by reference (the window, here); it was held at its encoded
 * bytes: held 526 µ$, billed 24,007.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const GPT_4_1_WINDOW = 1_047_576
const WORDS = 240_000

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { 'plain:gpt-4.1-nano': { input_per_million: 0.1, output_per_million: 0.4, context_window_tokens: GPT_4_1_WINDOW } },
  },
  (started) => ({ upstream, gw } = started),
)

/** A ZIP (stored as a .docx is: word/document.xml, deflated) of one entry. */
function zipOf(name: string, content: Buffer): Buffer {
  const data = deflateRawSync(content, { level: 9 })
  const crc = Bun.hash.crc32(content)
  const nameBytes = Buffer.from(name)
  const local = Buffer.alloc(30)
  local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(8, 8)
  local.writeUInt32LE(crc, 14); local.writeUInt32LE(data.length, 18); local.writeUInt32LE(content.length, 22); local.writeUInt16LE(nameBytes.length, 26)
  const central = Buffer.alloc(46)
  central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(8, 10)
  central.writeUInt32LE(crc, 16); central.writeUInt32LE(data.length, 20); central.writeUInt32LE(content.length, 24); central.writeUInt16LE(nameBytes.length, 28)
  const cdOffset = local.length + nameBytes.length + data.length
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(1, 8); end.writeUInt16LE(1, 10)
  end.writeUInt32LE(central.length + nameBytes.length, 12); end.writeUInt32LE(cdOffset, 16)
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end])
}

const words = Array.from({ length: WORDS }, (_, i) => ['alpha', 'bravo', 'delta', 'gamma'][i % 4]).join(' ')
const docx = zipOf('word/document.xml', Buffer.from(`<?xml version="1.0"?><w:document><w:body><w:p><w:r><w:t>${words}</w:t></w:r></w:p></w:body></w:document>`))

/** The provider extracts the document's text: a token a word. */
const billTheText = ({ body }: ScriptedCall) =>
  jsonResponse({
    id: 'resp_1', object: 'response', status: 'completed', model: body.model,
    usage: { input_tokens: WORDS, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: WORDS + 16 },
    output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
  })

test('cap-output on: an inline .docx (a deflated ZIP) on /v1/responses never takes spend past max_budget', async () => {
  expect(docx.length).toBeLessThan(10_000)
  upstream.answer(billTheText)
  const body = {
    model: 'plain:gpt-4.1-nano', max_output_tokens: 16, store: false,
    input: [{ role: 'user', content: [
      { type: 'input_text', text: 'Summarise the report.' },
      { type: 'input_file', filename: 'report.docx', file_data: `data:application/vnd.openxmlformats-officedocument.wordprocessingml.document;base64,${docx.toString('base64')}` },
    ] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/responses', body, 'inline-docx')
  expect(upstream.calls.at(-1)!.body.input[0].content[1].filename).toBe('report.docx')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('cap-output on: a ZIP sent as bare base64 under no office name is held as a file by reference too', async () => {
  upstream.answer(billTheText)
  const body = {
    model: 'plain:gpt-4.1-nano', max_output_tokens: 16, store: false,
    input: [{ role: 'user', content: [
      { type: 'input_text', text: 'Summarise the report.' },
      { type: 'input_file', filename: 'report', file_data: docx.toString('base64') },
    ] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/responses', body, 'inline-zip')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
