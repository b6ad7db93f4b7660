import { describe, expect, test } from 'bun:test'
import { estimateResponses, PER_MESSAGE_OVERHEAD, responsesItemInputTokens, textBytes, TOOL_USE_OVERHEAD_TOKENS } from '../src/budget/estimate'

const MEDIA = 1000
const o = { defaultMaxOutputTokens: 500, mediaPartTokens: MEDIA }
const bytes = (s: string) => Buffer.byteLength(s, 'utf8')
/** Bytes of a structured value as the estimate counts them: its JSON text and separators (an item's fields besides its content, a part). */
const json = (value: unknown) => textBytes(value)
/** A tool's result as text: the JSON string a chat template writes it as, quotes and escapes included. */
const quoted = (s: string) => bytes(JSON.stringify(s))
/** What a chat template may add to each separator of tool-call arguments it parses and writes again (`{"x":1}` has 2). */
const SEPARATOR = 3

describe('estimateResponses', () => {
  test('a string input is one message: its bytes plus the overhead; output is max_output_tokens or the default', () => {
    expect(estimateResponses({ input: 'héllo' }, o)).toEqual({ inputTokens: PER_MESSAGE_OVERHEAD + 6, outputTokens: 500, boundsInput: true })
    expect(estimateResponses({ input: 'hi', max_output_tokens: 42 }, o).outputTokens).toBe(42)
  })

  test('text alone bounds the input; an image, held at the media bound, does not', () => {
    const image = { role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/cat.png' }] }
    expect(estimateResponses({ input: [{ role: 'user', content: 'hi' }] }, o).boundsInput).toBe(true)
    expect(estimateResponses({ input: [image] }, o).boundsInput).toBe(false)
  })

  test('instructions count as text, tools and the output format as their JSON text; tools bring the tool-use allowance', () => {
    const base = estimateResponses({ input: 'hi' }, o).inputTokens
    expect(estimateResponses({ input: 'hi', instructions: 'Be brief.' }, o).inputTokens - base).toBe(bytes('Be brief.'))
    expect(estimateResponses({ input: 'hi', tools: [{ type: 'function', name: 'f' }] }, o).inputTokens - base).toBe(json([{ type: 'function', name: 'f' }]) + TOOL_USE_OVERHEAD_TOKENS)
  })

  test('every other field counts its bytes, as chat\'s do (vLLM\'s previous_input_messages are earlier turns); settings do not', () => {
    const base = estimateResponses({ input: 'hi' }, o).inputTokens
    const earlier = [{ role: 'user', content: 'a '.repeat(1000) }]
    expect(estimateResponses({ input: 'hi', previous_input_messages: earlier }, o).inputTokens - base).toBe(json(earlier))
    const settings = {
      model: 'm', stream: true, stream_options: { include_obfuscation: false }, max_output_tokens: 9, max_tool_calls: 2, temperature: 1, top_p: 1,
      top_logprobs: 0, user: 'u', safety_identifier: 's', prompt_cache_key: 'k', prompt_cache_retention: '24h', store: false, metadata: { a: 'b' },
      include: ['reasoning.encrypted_content'], reasoning: { effort: 'low' }, service_tier: 'auto', parallel_tool_calls: true, background: false,
      truncation: 'auto', previous_response_id: 'resp_1', conversation: 'conv_1',
    }
    expect(estimateResponses({ input: 'hi', ...settings }, o).inputTokens).toBe(base)
  })

  test('every item type counts: messages by their parts, inline images and files their bytes, calls, outputs and reasoning by their fields', () => {
    const file = `data:text/plain;base64,${'A'.repeat(100_000)}`
    const png = `data:image/png;base64,${'A'.repeat(50_000)}`
    const items: Array<Record<string, any>> = [
      { role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: png }] },
      { role: 'user', content: [{ type: 'input_file', filename: 'a.txt', file_data: file }] },
      { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{"x":1}' },
      { type: 'function_call_output', call_id: 'c1', output: 'result text' },
      { type: 'reasoning', id: 'rs_1', encrypted_content: 'E'.repeat(3000) },
    ]
    const expected =
      5 * PER_MESSAGE_OVERHEAD +
      json({ role: 'user' }) + json(items[0]!.content[0]) + json(items[0]!.content[1]) +
      json({ role: 'user' }) + json(items[1]!.content[0]) +
      json(items[2]) + 2 * SEPARATOR +
      json({ type: 'function_call_output', call_id: 'c1' }) + quoted('result text') +
      json(items[4])
    expect(estimateResponses({ input: items }, o).inputTokens).toBe(expected)
  })

  test('an item of a response\'s output as input on its own: a tool\'s result by its bytes, a code interpreter\'s image at least the media bound', () => {
    const mcp = { type: 'mcp_call', id: 'mcp_1', server_label: 'docs', name: 'fetch', arguments: '{}', output: 'r'.repeat(40_000), error: null }
    expect(responsesItemInputTokens(mcp, o)).toBe(PER_MESSAGE_OVERHEAD + quoted(mcp.output) + json({ type: 'mcp_call', id: 'mcp_1', server_label: 'docs', name: 'fetch', arguments: '{}', error: null }) + SEPARATOR)
    const code = { type: 'code_interpreter_call', id: 'ci_1', code: 'plot()', outputs: [{ type: 'logs', logs: 'ok' }, { type: 'image', url: 'https://files.example/plot.png' }] }
    expect(responsesItemInputTokens(code, o)).toBeGreaterThanOrEqual(MEDIA + bytes('ok'))
    // The same item inline in a request counts the same.
    expect(estimateResponses({ input: [code] }, o).inputTokens).toBe(responsesItemInputTokens(code, o))
  })

  test('a computer_call_output\'s screenshot is an image: the media bound by URL or file id, its bytes inline if more', () => {
    const shot = (output: Record<string, unknown>) => ({ type: 'computer_call_output', call_id: 'c1', output })
    const base = (item: Record<string, any>) => PER_MESSAGE_OVERHEAD + json({ type: item.type, call_id: item.call_id })
    for (const ref of [{ image_url: 'https://example.com/shot.png' }, { file_id: 'file-shot' }]) {
      const item = shot({ type: 'computer_screenshot', ...ref })
      expect(estimateResponses({ input: [item] }, o).inputTokens).toBe(base(item) + MEDIA)
    }
    const inline = shot({ type: 'computer_screenshot', image_url: `data:image/png;base64,${'A'.repeat(50_000)}` })
    expect(estimateResponses({ input: [inline] }, o).inputTokens).toBe(base(inline) + json(inline.output))
  })

  test('the stored context a previous_response_id brings in is added to the input', () => {
    expect(estimateResponses({ input: 'hi', previous_response_id: 'resp_1' }, { ...o, contextTokens: 7000 }).inputTokens).toBe(7000 + PER_MESSAGE_OVERHEAD + 2)
  })
})
