import { describe, expect, test } from 'bun:test'
import { AUDIO_ANSWER_MAX_TOKENS, estimateChat, estimateEmbeddings, estimateMessages, estimateResponses, type EstimateOptions, IMAGE_ORIGINAL_DETAIL_TOKENS, PER_EMBEDDING_INPUT_OVERHEAD, PER_MESSAGE_OVERHEAD, textBytes, TOOL_USE_OVERHEAD_TOKENS } from '../src/budget/estimate'
import { blankPdf, deflatedTextPdf, objectStreamBomb } from './support/pdf'

const MEDIA = 1000
const DEFAULT_OUT = 500
const o = { defaultMaxOutputTokens: DEFAULT_OUT, mediaPartTokens: MEDIA }

/** What a chat template may add to each separator of a structured value (`,` `:` `[` `{` outside strings): a line break, an indent, a space. */
const SEPARATOR = 3
/** A user message besides its content, as its JSON text (`{"role":"user"}`) and its two separators. */
const USER_ROLE = '{"role":"user"}'.length + 2 * SEPARATOR
const ASSISTANT_ROLE = '{"role":"assistant"}'.length + 2 * SEPARATOR
/** An Anthropic block's fields besides its type, source and content, as JSON text: `{}` when it has none. */
const NO_FIELDS = '{}'.length + SEPARATOR
const PDF_BASE64 = 'A'.repeat(4_000_000) // a 3 MB PDF, base64-encoded (its pages unreadable: it counts its bytes, past 100 × 3,000)

const chat = (content: unknown, extra: Record<string, unknown> = {}) =>
  estimateChat({ model: 'm', messages: [{ role: 'user', content }], ...extra }, o)

describe('estimateChat', () => {
  test('text counts its UTF-8 bytes plus a per-message overhead (role included)', () => {
    expect(chat('héllo').inputTokens).toBe(PER_MESSAGE_OVERHEAD + USER_ROLE + 6)
    const two = estimateChat({ messages: [{ role: 'user', content: 'ab' }, { role: 'assistant', content: '日本' }] }, o)
    expect(two.inputTokens).toBe(2 * PER_MESSAGE_OVERHEAD + USER_ROLE + ASSISTANT_ROLE + 2 + 6)
  })

  test('text counts the UTF-8 bytes of its NFKC form where they are more: a tokenizer may normalize before it counts', () => {
    const USER = PER_MESSAGE_OVERHEAD + USER_ROLE
    // U+FDFA (3 bytes) is "صلى الله عليه وسلم" (33) in NFKC, as Claude's tokenizer reads it; ﬁ (3 bytes) is "fi" (2): its bytes.
    expect(chat('\uFDFA').inputTokens).toBe(USER + 33)
    expect(chat('\uFB01').inputTokens).toBe(USER + 3)
    // Normalized a slice at a time, a long text counts as much as its characters one by one.
    expect(chat('\uFDFA'.repeat(20_000)).inputTokens).toBe(USER + 20_000 * 33)
    // Wherever text is counted: a structured value's JSON text, on Messages and Responses too.
    expect(chat('hi', { response_format: { note: '\uFDFA' } }).inputTokens - chat('hi').inputTokens).toBe(textBytes({ note: 'x' }) - 1 + 33)
    expect(estimateMessages({ max_tokens: 1, system: '\uFDFA', messages: [] }, o).inputTokens).toBe(33)
    expect(estimateResponses({ instructions: '\uFDFA'.repeat(10) }, o).inputTokens).toBe(330)
  })

  test('tool definitions count as their JSON text, plus the tool-use allowance', () => {
    const tools = [{ type: 'function', function: { name: 'f' } }]
    const withTools = chat('hi', { tools }).inputTokens
    expect(withTools - chat('hi').inputTokens).toBe('[{"type":"function","function":{"name":"f"}}]'.length + 7 * SEPARATOR + TOOL_USE_OVERHEAD_TOKENS)
  })

  test('inline audio counts its bytes: 500 B and 15 MB of input_audio no longer reserve the same', () => {
    const audio = (bytes: number) => ({ type: 'input_audio', input_audio: { data: 'A'.repeat(bytes), format: 'wav' } })
    const small = chat([audio(500)]).inputTokens
    const large = chat([audio(15_000_000)]).inputTokens
    expect(small).toBe(PER_MESSAGE_OVERHEAD + USER_ROLE + MEDIA)
    expect(large).toBeGreaterThanOrEqual(15_000_000)
    expect(large).toBeLessThan(15_000_000 + 200)
  })

  test('an inline image counts its bytes too, never less than the media bound; an image by URL counts the bound', () => {
    const image = (url: string) => ({ type: 'image_url', image_url: { url } })
    const data = `data:image/png;base64,${'A'.repeat(100_000)}`
    expect(chat([image(data)]).inputTokens).toBeGreaterThanOrEqual(100_000)
    expect(chat([image('data:image/png;base64,AAAA')]).inputTokens).toBe(PER_MESSAGE_OVERHEAD + USER_ROLE + MEDIA)
    expect(chat([image('https://example.com/cat.png')]).inputTokens).toBe(PER_MESSAGE_OVERHEAD + USER_ROLE + MEDIA)
    expect(chat([{ type: 'input_image', image_url: data }]).inputTokens).toBeGreaterThanOrEqual(100_000)
  })

  test('with hard bounds (cap-output on) an image at detail "original" counts at least its largest bill, by reference or inline', () => {
    const hard = { ...o, hardBounds: true }
    const USER = PER_MESSAGE_OVERHEAD + USER_ROLE
    const image = (url: string, detail?: string) => ({ type: 'image_url', image_url: { url, ...(detail ? { detail } : {}) } })
    const chatImage = (part: unknown, options: EstimateOptions = hard) => estimateChat({ messages: [{ role: 'user', content: [part] }] }, options).inputTokens
    const inputImage = (part: Record<string, unknown>) =>
      estimateResponses({ input: [{ role: 'user', content: [{ type: 'input_image', ...part }] }] }, hard).inputTokens
    expect(chatImage(image('https://example.com/scan.png', 'original'))).toBe(USER + IMAGE_ORIGINAL_DETAIL_TOKENS)
    expect(inputImage({ image_url: 'https://example.com/scan.png', detail: 'original' })).toBe(USER + IMAGE_ORIGINAL_DETAIL_TOKENS)
    expect(inputImage({ file_id: 'file-scan', detail: 'original' })).toBe(USER + IMAGE_ORIGINAL_DETAIL_TOKENS)
    // Inline: a one-colour image is a few bytes at any size, so the bound holds there too; a larger one still counts its bytes.
    expect(chatImage(image('data:image/png;base64,AAAA', 'original'))).toBe(USER + IMAGE_ORIGINAL_DETAIL_TOKENS)
    const large = `data:image/png;base64,${'A'.repeat(100_000)}`
    expect(chatImage(image(large, 'original'))).toBe(USER + textBytes(image(large, 'original')))
    // Other details by reference, and detail "original" with cap-output off, count the media bound.
    expect(chatImage(image('https://example.com/scan.png', 'high'))).toBe(USER + MEDIA)
    expect(chatImage(image('https://example.com/scan.png', 'original'), o)).toBe(USER + MEDIA)
    // A part that says `detail` in both places is held for "original" whichever of the two says it.
    const both = { type: 'image_url', detail: 'low', image_url: { url: 'https://example.com/scan.png', detail: 'original' } }
    expect(chatImage(both)).toBeGreaterThanOrEqual(USER + IMAGE_ORIGINAL_DETAIL_TOKENS)
  })

  test('an inline file counts its bytes', () => {
    const part = { type: 'file', file: { filename: 'a.pdf', file_data: `data:application/pdf;base64,${PDF_BASE64}` } }
    const input = chat([part]).inputTokens
    expect(input).toBeGreaterThanOrEqual(PDF_BASE64.length)
    expect(input).toBeLessThan(PDF_BASE64.length + 200)
  })

  test('an input_file part with inline data counts its bytes too', () => {
    expect(chat([{ type: 'input_file', filename: 'a.pdf', file_data: PDF_BASE64 }]).inputTokens).toBeGreaterThanOrEqual(PDF_BASE64.length)
  })

  test('a small inline file counts at least the media bound; a file by id counts the bound', () => {
    const small = { type: 'file', file: { filename: 'a.txt', file_data: 'data:text/plain;base64,aGk=' } }
    expect(chat([small]).inputTokens).toBe(PER_MESSAGE_OVERHEAD + USER_ROLE + MEDIA)
    expect(chat([{ type: 'file', file: { file_id: 'file-abc123' } }]).inputTokens).toBe(PER_MESSAGE_OVERHEAD + USER_ROLE + MEDIA)
  })

  test('an earlier audio answer by id (assistant.audio.id) counts as an audio part: the media bound, not its id\'s bytes', () => {
    const recalled = estimateChat({ messages: [{ role: 'assistant', audio: { id: 'audio_abc123' } }] }, o)
    expect(recalled.inputTokens).toBe(PER_MESSAGE_OVERHEAD + ASSISTANT_ROLE + MEDIA)
  })

  test('with hard bounds (cap-output on) an earlier audio answer by id counts the longest answer, each time it is named', () => {
    const hard = { ...o, hardBounds: true }
    const ASSISTANT = PER_MESSAGE_OVERHEAD + ASSISTANT_ROLE
    const answer = { role: 'assistant', audio: { id: 'audio_abc123' } }
    expect(estimateChat({ messages: [answer] }, hard).inputTokens).toBe(ASSISTANT + AUDIO_ANSWER_MAX_TOKENS)
    expect(estimateChat({ messages: [answer, { ...answer, audio: { id: 'audio_def456' } }] }, hard).inputTokens).toBe(2 * (ASSISTANT + AUDIO_ANSWER_MAX_TOKENS))
    // A media bound set above it wins.
    expect(estimateChat({ messages: [answer] }, { ...hard, mediaPartTokens: 20_000 }).inputTokens).toBe(ASSISTANT + 20_000)
  })

  test('with hard bounds (cap-output on) a part is text only when its type is a text type and it carries no media key', () => {
    const hard = { ...o, hardBounds: true, pdfPageTokens: 10, pdfMaxPages: 100 }
    const USER = PER_MESSAGE_OVERHEAD + USER_ROLE
    const chatParts = (part: unknown, options: EstimateOptions = hard) => estimateChat({ messages: [{ role: 'user', content: [part] }] }, options)
    // vLLM reads a part with a `uuid` by its media key, whatever its type: media, held as such, the input not bounded.
    const image = chatParts({ type: 'text', text: '', uuid: 'i1', image_url: 'https://images.example/scan.png' })
    expect(image).toMatchObject({ inputTokens: USER + MEDIA, boundsInput: false })
    // One that may be a video (or audio, or a document) is held as a file by reference is.
    const video = chatParts({ type: 'text', text: '', uuid: 'v1', video_url: 'https://videos.example/talk.mp4' })
    expect(video).toMatchObject({ inputTokens: USER + 100 * 10, boundsInput: false })
    // A type the gateway does not know, and a media key without a uuid, are media too.
    expect(chatParts({ type: 'image_file', image_file: { file_id: 'file-1' } }).boundsInput).toBe(false)
    expect(chatParts({ type: 'thinking', thinking: 'hm' }).boundsInput).toBe(false)
    expect(chatParts({ type: 'text', text: 'hi', image_embeds: 'AAAA' }).boundsInput).toBe(false)
    expect(chatParts({ type: 'thinking', thinking: [{ type: 'text', text: 'hm' }, { type: 'image_url', image_url: { url: 'https://a.example/x.png' } }] }).boundsInput).toBe(false)
    // Text stays text: with cache_control, untyped, and the text parts of Responses items.
    // Mistral's thinking (a list of text and reference chunks) and a media key set to null (a serializer writing every field) too.
    for (const part of [
      { type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }, { text: 'hi' }, { type: 'refusal', refusal: 'no' },
      { type: 'thinking', thinking: [{ type: 'text', text: 'hm' }, { type: 'reference', reference_ids: [1, 2] }] },
      { type: 'text', text: 'hi', image_url: null, uuid: null },
    ])
      expect(chatParts(part)).toMatchObject({ inputTokens: USER + textBytes(part), boundsInput: true })
    const items = [
      { role: 'assistant', content: [{ type: 'output_text', text: 'hi', annotations: [{ type: 'url_citation', url: 'https://a.example' }] }] },
      { type: 'reasoning', summary: [{ type: 'summary_text', text: 'hm' }], content: [{ type: 'reasoning_text', text: 'hm' }] },
      { type: 'code_interpreter_call', outputs: [{ type: 'logs', logs: 'ok' }] },
      { type: 'shell_call_output', output: [{ stdout: 'ok', stderr: '', outcome: { type: 'exit', exit_code: 0 } }] },
    ]
    expect(estimateResponses({ input: items }, hard).boundsInput).toBe(true)
    // Cap-output off, such a part counts its bytes, as before.
    const part = { type: 'text', text: '', uuid: 'i1', image_url: 'https://images.example/scan.png' }
    expect(chatParts(part, o).inputTokens).toBe(USER + textBytes(part))
  })

  test('output: the request max (the larger of max_completion_tokens and max_tokens, which a provider may read instead), else the default, times n', () => {
    expect(chat('hi').outputTokens).toBe(DEFAULT_OUT)
    expect(chat('hi', { max_tokens: 10 }).outputTokens).toBe(10)
    expect(chat('hi', { max_completion_tokens: 7 }).outputTokens).toBe(7)
    expect(chat('hi', { max_tokens: 10, max_completion_tokens: 7 }).outputTokens).toBe(10)
    expect(chat('hi', { max_tokens: 7, max_completion_tokens: 10 }).outputTokens).toBe(10)
    expect(chat('hi', { max_tokens: null, max_completion_tokens: 7 }).outputTokens).toBe(7)
    expect(chat('hi', { max_tokens: 10, max_completion_tokens: null }).outputTokens).toBe(10)
    expect(chat('hi', { max_tokens: 10, n: 3 }).outputTokens).toBe(30)
    expect(chat('hi', { n: 2 }).outputTokens).toBe(2 * DEFAULT_OUT)
    expect(chat('hi', { max_tokens: null }).outputTokens).toBe(DEFAULT_OUT)
  })
})

describe('estimateEmbeddings: each input adds the special tokens a server frames it with', () => {
  const input = (input: unknown) => estimateEmbeddings({ model: 'm', input }, o).inputTokens
  test('a string, or each of a list of strings, counts its UTF-8 bytes plus the per-input overhead', () => {
    expect(input('héllo')).toBe(PER_EMBEDDING_INPUT_OVERHEAD + 6)
    expect(input(['', '', ''])).toBe(3 * PER_EMBEDDING_INPUT_OVERHEAD)
    expect(input(Array(1000).fill('a'))).toBe(1000 * (PER_EMBEDDING_INPUT_OVERHEAD + 1))
  })
  test('a token array is one input, a list of them that many: one token an entry plus the overhead each', () => {
    expect(input([1, 2, 3])).toBe(PER_EMBEDDING_INPUT_OVERHEAD + 3)
    expect(input([[1, 2, 3], [4]])).toBe(2 * PER_EMBEDDING_INPUT_OVERHEAD + 4)
  })
  test('the overhead covers the [CLS]/[SEP] or <s>/</s> pair of BERT- and XLM-R-type models', () => {
    expect(PER_EMBEDDING_INPUT_OVERHEAD).toBeGreaterThanOrEqual(2)
  })
  test('with hard bounds a string naming media (data URL, gs:// or http(s) URL, files/…) counts as a media part, its bytes if more', () => {
    const hard = (input: unknown) => estimateEmbeddings({ model: 'm', input }, { ...o, hardBounds: true }).inputTokens
    for (const media of ['files/abc123', 'gs://bucket/clip.mp4', 'https://example.com/a.png', 'HTTP://example.com/a', 'data:video/mp4;base64,AAAA'])
      expect(hard(media)).toBe(PER_EMBEDDING_INPUT_OVERHEAD + MEDIA)
    const large = `data:image/png;base64,${'A'.repeat(5000)}`
    expect(hard(large)).toBe(PER_EMBEDDING_INPUT_OVERHEAD + large.length)
    expect(hard(['files/a', 'a cat'])).toBe(2 * PER_EMBEDDING_INPUT_OVERHEAD + MEDIA + 5)
    // Text that only mentions a URL, and any string without hard bounds, counts its bytes.
    expect(hard('see https://example.com')).toBe(PER_EMBEDDING_INPUT_OVERHEAD + 23)
    expect(input('files/abc123')).toBe(PER_EMBEDDING_INPUT_OVERHEAD + 12)
  })
  test('every field besides the input and the settings counts its bytes, as on chat: a server may embed it too', () => {
    const settings = { model: 'm', input: 'hi', encoding_format: 'base64', dimensions: 256, user: 'someone' }
    expect(estimateEmbeddings(settings, o).inputTokens).toBe(PER_EMBEDDING_INPUT_OVERHEAD + 2)
    expect(estimateEmbeddings({ ...settings, instruction: 'Represent this sentence for searching: ' }, o).inputTokens).toBe(PER_EMBEDDING_INPUT_OVERHEAD + 2 + 39)
    expect(estimateEmbeddings({ ...settings, Input: 'x'.repeat(200_000) }, o).inputTokens).toBe(PER_EMBEDDING_INPUT_OVERHEAD + 2 + 200_000)
  })
})

describe('structured values count their JSON text, as providers read them', () => {
  test('a tool_use input of 20,000 nulls counts its 100,000 bytes of JSON, not nothing', () => {
    const input = { a: Array(20_000).fill(null) }
    const history = (toolInput: unknown) =>
      estimateMessages({ max_tokens: 1, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: toolInput }] }] }, o).inputTokens
    expect(history(input) - history({})).toBe(JSON.stringify(input).length - '{}'.length + (20_002 - 1) * SEPARATOR)
    expect(history(input)).toBeGreaterThan(100_000)
  })

  test('literals count their JSON form and punctuation counts: null 4, true 4, false 5, a number its digits; {}, [] and "" their brackets and quotes', () => {
    const schema = (parameters: unknown) => chat('hi', { tools: [{ type: 'function', function: { name: 'f', parameters } }] }).inputTokens
    const empty = schema({})
    expect(schema({ x: null }) - empty).toBe('"x":null'.length + SEPARATOR)
    expect(schema({ x: true }) - empty).toBe('"x":true'.length + SEPARATOR)
    expect(schema({ x: false }) - empty).toBe('"x":false'.length + SEPARATOR)
    expect(schema({ x: 123456789012 }) - empty).toBe('"x":123456789012'.length + SEPARATOR)
    expect(schema({ x: [[], {}, ''] }) - empty).toBe('"x":[[],{},""]'.length + 6 * SEPARATOR)
  })

  test('Responses function-call arguments objects and output formats count their JSON text', () => {
    const base = estimateResponses({ input: 'hi' }, o).inputTokens
    const format = { format: { type: 'json_schema', name: 'r', schema: { type: 'object', properties: { a: { enum: [null, null, null] } } } } }
    expect(estimateResponses({ input: 'hi', text: format }, o).inputTokens - base).toBe(JSON.stringify(format).length + 19 * SEPARATOR)
  })

  test('message text keeps its UTF-8 bytes: a string content is not quoted or escaped', () => {
    expect(chat('a\n"é"').inputTokens - chat('').inputTokens).toBe(Buffer.byteLength('a\n"é"'))
  })
})

describe('what a chat template adds: tools and arguments written again with tojson, tool results as JSON strings', () => {
  test('each separator outside strings counts 3 more (an enum of digits, 2 bytes an item, bills ~4 tokens an item at indent 4); commas in strings do not', () => {
    expect(textBytes([0, 1, 2])).toBe('[0,1,2]'.length + 3 * SEPARATOR)
    expect(textBytes({ a: { b: 1 } })).toBe('{"a":{"b":1}}'.length + 4 * SEPARATOR)
    expect(textBytes({ d: 'a, b: [c] {d}' })).toBe('{"d":"a, b: [c] {d}"}'.length + 2 * SEPARATOR)
    expect(textBytes({ d: 'say "a, b"\\' })).toBe(JSON.stringify({ d: 'say "a, b"\\' }).length + 2 * SEPARATOR)
  })

  test('past 10 levels each separator counts one more token each 10 levels: an indent longer than one token', () => {
    const nested = (depth: number): unknown => (depth === 0 ? 0 : [nested(depth - 1)])
    expect(textBytes(nested(9))).toBe(2 * 9 + 1 + 9 * SEPARATOR)
    expect(textBytes(nested(25))).toBe(2 * 25 + 1 + 25 * SEPARATOR + (25 - 9) + (25 - 19))
  })

  test('a tool result as text counts as the JSON string a template writes it as: a control character is its escape, 6 bytes', () => {
    const result = '\u0001'.repeat(1000)
    const call = { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }
    const chatResult = (content: string) => estimateChat({ messages: [call, { role: 'tool', tool_call_id: 'c', content }] }, o).inputTokens
    expect(chatResult(result) - chatResult('')).toBe(6 * 1000)
    const responsesResult = (output: string) => estimateResponses({ input: [{ type: 'function_call_output', call_id: 'c', output }] }, o).inputTokens
    expect(responsesResult(result) - responsesResult('')).toBe(6 * 1000)
    const messagesResult = (content: string) =>
      estimateMessages({ max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content }] }] }, o).inputTokens
    expect(messagesResult(result) - messagesResult('')).toBe(6 * 1000)
    // Other roles' text is written as it is.
    expect(chat(result).inputTokens - chat('').inputTokens).toBe(1000)
  })

  test('a chat message of any role but system, user, assistant and developer is held as a tool result: Llama writes `ipython` as `tool`', () => {
    const result = '\u0001'.repeat(1000)
    const chatRole = (role: string, content: string) => estimateChat({ messages: [{ role, content }] }, o).inputTokens
    for (const role of ['tool', 'ipython', 'function', 'observation']) expect(chatRole(role, result) - chatRole(role, '')).toBe(6 * 1000)
    for (const role of ['system', 'user', 'assistant', 'developer']) expect(chatRole(role, result) - chatRole(role, '')).toBe(1000)
  })

  test('tool-call arguments count their escaped bytes and their separators: vLLM parses them for the template, which writes them again', () => {
    const args = JSON.stringify({ n: [0, 1, 2] })
    const chatCall = (args: string, key: 'tool_calls' | 'function_call' = 'tool_calls') => {
      const fn = { name: 'f', arguments: args }
      const message = key === 'tool_calls' ? { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: fn }] } : { role: 'assistant', function_call: fn }
      return estimateChat({ messages: [message] }, o).inputTokens
    }
    const escaped = JSON.stringify(args).length - '""'.length
    expect(chatCall(args) - chatCall('')).toBe(escaped + 5 * SEPARATOR)
    expect(chatCall(args, 'function_call') - chatCall('', 'function_call')).toBe(escaped + 5 * SEPARATOR)
    const responsesCall = (args: string) => estimateResponses({ input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: args }] }, o).inputTokens
    expect(responsesCall(args) - responsesCall('')).toBe(escaped + 5 * SEPARATOR)
  })

  test('tool-call arguments count a float at the length Python\'s json writes it again: `1e15` as `1000000000000000.0`', () => {
    const chatCall = (args: string) =>
      estimateChat({ messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: args } }] }] }, o).inputTokens
    // json.dumps(json.loads(n)) in Python: how many bytes longer it is than n, never less than 0.
    const rewritten: Array<[string, number]> = [
      ['1e15', 14], ['1E15', 14], ['-1e15', 14], ['1e16', 1], ['1e-7', 1], ['2.5e3', 1], ['1e400', 3], ['12345678901234567.5', 3],
      ['1.5', 0], ['12345', 0], ['0.00001', 0], ['0e5', 0],
    ]
    for (const [n, growth] of rewritten) expect([n, chatCall(`[${n}]`) - chatCall('[0]') - (n.length - 1)]).toEqual([n, growth])
    // Numbers inside strings are text.
    expect(chatCall('["1e15"]') - chatCall('["1"]')).toBe(3)
    const responsesCall = (args: string) => estimateResponses({ input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: args }] }, o).inputTokens
    expect(responsesCall('[1e15]') - responsesCall('[1]')).toBe(3 + 14)
  })

  test('a string\'s end is found past any number of escaped quotes: the separators after it count, none inside it', () => {
    const quotes = '"a, b": '.repeat(100)
    expect(textBytes({ a: quotes, b: [1, 2] })).toBe(JSON.stringify({ a: quotes, b: [1, 2] }).length + 6 * SEPARATOR)
    const chatCall = (args: string) =>
      estimateChat({ messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: args } }] }] }, o).inputTokens
    const args = JSON.stringify({ a: quotes, b: [1, 2] })
    expect(chatCall(args) - chatCall('')).toBe(JSON.stringify(args).length - 2 + 6 * SEPARATOR)
  })
})

describe('the tool-use allowance: input a provider adds to any request that offers tools', () => {
  test('bounds the largest tool-use system prompt Anthropic documents (530 tokens)', () => {
    expect(TOOL_USE_OVERHEAD_TOKENS).toBeGreaterThanOrEqual(530)
  })

  test('every format: chat tools or legacy functions, Messages tools (server tools too), Responses tools (hosted too); once a request', () => {
    const plain = (tools: unknown) => ({ messages: [{ role: 'user', content: 'hi' }], ...(tools === undefined ? {} : { tools }) })
    const fn = { type: 'function', function: { name: 'f' } }
    const chatTools = (tools: unknown) => estimateChat(plain(tools), o).inputTokens
    expect(chatTools([fn]) - chatTools(undefined)).toBe(textBytes([fn]) + TOOL_USE_OVERHEAD_TOKENS)
    expect(chatTools([fn, fn]) - chatTools(undefined)).toBe(textBytes([fn, fn]) + TOOL_USE_OVERHEAD_TOKENS)
    expect(chatTools([]) - chatTools(undefined)).toBe(textBytes([]))
    const legacy = estimateChat({ ...plain(undefined), functions: [{ name: 'f' }] }, o).inputTokens
    expect(legacy - chatTools(undefined)).toBe(textBytes([{ name: 'f' }]) + TOOL_USE_OVERHEAD_TOKENS)

    const messagesTools = (tools: unknown) => estimateMessages({ max_tokens: 1, ...plain(tools) }, o).inputTokens
    const tool = { name: 'f', input_schema: { type: 'object' } }
    expect(messagesTools([tool]) - messagesTools(undefined)).toBe(textBytes([tool]) + TOOL_USE_OVERHEAD_TOKENS)
    const search = { type: 'web_search_20250305', name: 'web_search' }
    expect(messagesTools([search]) - messagesTools(undefined)).toBe(textBytes([search]) + TOOL_USE_OVERHEAD_TOKENS)

    const responsesTools = (tools: unknown) => estimateResponses({ input: 'hi', ...(tools === undefined ? {} : { tools }) }, o).inputTokens
    for (const t of [{ type: 'function', name: 'f' }, { type: 'web_search' }])
      expect(responsesTools([t]) - responsesTools(undefined)).toBe(textBytes([t]) + TOOL_USE_OVERHEAD_TOKENS)
  })
})

describe('Anthropic-defined client tools: the hidden input Anthropic documents for each, on top of the tool-use allowance', () => {
  const messagesTools = (tools: unknown[]) => estimateMessages({ max_tokens: 1, messages: [{ role: 'user', content: 'hi' }], tools }, o).inputTokens
  const custom = { name: 'f', input_schema: { type: 'object' } }
  const hidden = (tool: Record<string, unknown>) => messagesTools([custom, tool]) - messagesTools([custom]) - (textBytes([custom, tool]) - textBytes([custom]))

  test('computer use (system prompt ≤ 499 + definition ≤ 735), text editor (700), bash (245), each version; memory held as the text editor', () => {
    for (const type of ['computer_20241022', 'computer_20250124', 'computer_20251124']) expect(hidden({ type, name: 'computer', display_width_px: 1024, display_height_px: 768 })).toBeGreaterThanOrEqual(499 + 735)
    for (const type of ['text_editor_20250124', 'text_editor_20250429', 'text_editor_20250728']) expect(hidden({ type, name: 'str_replace_based_edit_tool' })).toBeGreaterThanOrEqual(700)
    for (const type of ['bash_20241022', 'bash_20250124']) expect(hidden({ type, name: 'bash' })).toBeGreaterThanOrEqual(245)
    expect(hidden({ type: 'memory_20250818', name: 'memory' })).toBe(hidden({ type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' }))
  })

  test('each tool adds its own; custom and server tools add none beyond the allowance', () => {
    const bash = { type: 'bash_20250124', name: 'bash' }
    expect(messagesTools([custom, bash, bash]) - messagesTools([custom])).toBe(textBytes([custom, bash, bash]) - textBytes([custom]) + 2 * hidden(bash))
    expect(hidden({ name: 'g', input_schema: { type: 'object' } })).toBe(0)
    expect(hidden({ type: 'web_search_20250305', name: 'web_search' })).toBe(0)
  })

  test('a tool defined in the conversation (in system, a message, a compaction block\'s tool changes) adds as one in tools does; the allowance once', () => {
    const bash = { type: 'bash_20250124', name: 'bash' }
    // The same bytes either way: as a definition it is offered (the inline-tools beta), in capitals it is not.
    const addition = (definition: unknown, type = 'tool_definition') => ({ type: 'tool_addition', tool: { type, definition } })
    const inline = (type?: string, tools?: unknown[]) =>
      estimateMessages({
        max_tokens: 1,
        system: [addition(custom, type)],
        messages: [
          { role: 'user', content: [{ type: 'compaction', content: 'earlier turns', tool_changes: [addition(bash, type)] }] },
          { role: 'user', content: [{ type: 'text', text: 'hi' }, addition(bash, type)] },
        ],
        ...(tools ? { tools } : {}),
      }, o).inputTokens
    expect(inline() - inline('TOOL_DEFINITION')).toBe(TOOL_USE_OVERHEAD_TOKENS + 2 * hidden(bash))
    expect(inline(undefined, [custom]) - inline('TOOL_DEFINITION', [custom])).toBe(2 * hidden(bash))
  })
})

describe('estimateMessages: documents', () => {
  const messages = (block: Record<string, unknown>) =>
    estimateMessages({ model: 'm', max_tokens: 50, messages: [{ role: 'user', content: [block] }] }, o)
  const BASE = PER_MESSAGE_OVERHEAD + USER_ROLE + NO_FIELDS

  test('a base64 image counts its bytes, never less than the media bound; an image by URL counts the bound', () => {
    const image = (source: Record<string, unknown>) => messages({ type: 'image', source }).inputTokens
    expect(image({ type: 'base64', media_type: 'image/png', data: 'A'.repeat(200_000) })).toBeGreaterThanOrEqual(BASE + 200_000)
    expect(image({ type: 'base64', media_type: 'image/png', data: 'AAAA' })).toBe(BASE + MEDIA)
    expect(image({ type: 'url', url: 'https://example.com/cat.png' })).toBe(BASE + MEDIA)
  })

  test('a base64 PDF counts its bytes', () => {
    const estimate = messages({ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF_BASE64 } })
    expect(estimate.inputTokens).toBe(BASE + PDF_BASE64.length)
    expect(estimate.outputTokens).toBe(50)
  })

  test('a small base64 PDF counts at least the media bound', () => {
    const onePage = blankPdf(1).toString('base64')
    const estimate = estimateMessages(
      { model: 'm', max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: onePage } }] }] },
      { ...o, pdfPageTokens: MEDIA / 10 },
    )
    expect(estimate.inputTokens).toBe(BASE + MEDIA)
  })

  test('a document by URL or file id counts the media bound, plus its title', () => {
    expect(messages({ type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } }).inputTokens).toBe(BASE + MEDIA)
    expect(messages({ type: 'document', source: { type: 'file', file_id: 'file_1' }, title: 'Report' }).inputTokens).toBe(
      BASE - NO_FIELDS + MEDIA + '{"title":"Report"}'.length + 2 * SEPARATOR,
    )
  })

  test('a plain-text document counts its text', () => {
    expect(messages({ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'hello' } }).inputTokens).toBe(BASE + 5)
  })

  test('a base64 PDF inside a tool result counts its bytes', () => {
    const pdf = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF_BASE64 } }
    const estimate = messages({ type: 'tool_result', tool_use_id: 't', content: [pdf] })
    expect(estimate.inputTokens).toBeGreaterThanOrEqual(BASE + PDF_BASE64.length)
  })
})

describe('inline PDFs: at least their pages times the per-page bound (providers bill each page as text and an image)', () => {
  const PAGE = 2000
  const MAX_PAGES = 50
  const p = { ...o, pdfPageTokens: PAGE, pdfMaxPages: MAX_PAGES }
  const pdf100 = blankPdf(100).toString('base64')
  const USER_MESSAGE = PER_MESSAGE_OVERHEAD + USER_ROLE
  /** A user message of one Anthropic document block (with no fields besides its type and source). */
  const DOCUMENT = USER_MESSAGE + NO_FIELDS
  const document = (data: string, mediaType = 'application/pdf') =>
    estimateMessages({ model: 'm', max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: mediaType, data } }] }] }, p).inputTokens
  const chatFile = (file: Record<string, unknown>) =>
    estimateChat({ model: 'm', messages: [{ role: 'user', content: [{ type: 'file', file }] }] }, p).inputTokens
  const inputFile = (part: Record<string, unknown>) =>
    estimateResponses({ input: [{ role: 'user', content: [{ type: 'input_file', ...part }] }] }, p).inputTokens

  test('a 100-page PDF of ~10 kB counts 100 pages, not its bytes: Anthropic document, chat file, Responses input_file', () => {
    expect(pdf100.length).toBeLessThan(12_000)
    expect(document(pdf100)).toBe(DOCUMENT + 100 * PAGE)
    const dataUrl = `data:application/pdf;base64,${pdf100}`
    expect(chatFile({ filename: 'a.pdf', file_data: dataUrl })).toBe(USER_MESSAGE + 100 * PAGE)
    expect(inputFile({ filename: 'a.pdf', file_data: dataUrl })).toBe(USER_MESSAGE + 100 * PAGE)
  })

  test('a PDF inside a tool result, and a Responses function_call_output, count their pages too', () => {
    const pdf = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf100 } }
    const tool = estimateMessages({ model: 'm', max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [pdf] }] }] }, p)
    expect(tool.inputTokens).toBeGreaterThanOrEqual(100 * PAGE)
    const output = estimateResponses({ input: [{ type: 'function_call_output', call_id: 'c', output: [{ type: 'input_file', file_data: `data:application/pdf;base64,${pdf100}` }] }] }, p)
    expect(output.inputTokens).toBeGreaterThanOrEqual(100 * PAGE)
  })

  test('a PDF in an image part (LiteLLM takes one by URL or data URL and sends it on as a document) counts its pages, not its bytes', () => {
    const dataUrl = `data:application/pdf;base64,${pdf100}`
    const chatImage = (image_url: unknown, opts: EstimateOptions = p) =>
      estimateChat({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url }] }] }, opts).inputTokens
    expect(chatImage({ url: dataUrl })).toBe(USER_MESSAGE + 100 * PAGE)
    expect(chatImage(dataUrl)).toBe(USER_MESSAGE + 100 * PAGE)
    // Declared an image, its bytes still start as a PDF's; LiteLLM's `format` names the media type.
    expect(chatImage({ url: `data:image/png;base64,${pdf100}` })).toBe(USER_MESSAGE + 100 * PAGE)
    expect(chatImage({ url: `data:;base64,${blankPdf(100, { objectStream: 'flate' }).toString('base64')}`, format: 'application/pdf' })).toBe(USER_MESSAGE + 100 * PAGE)
    expect(estimateResponses({ input: [{ role: 'user', content: [{ type: 'input_image', image_url: dataUrl }] }] }, p).inputTokens).toBe(USER_MESSAGE + 100 * PAGE)
    // By URL: the media bound with cap-output off; with it on, a URL whose path ends .pdf (or whose format says so) is a file by reference.
    const hard = { ...p, hardBounds: true }
    expect(chatImage({ url: 'https://example.com/report.pdf' })).toBe(USER_MESSAGE + MEDIA)
    expect(chatImage({ url: 'https://example.com/report.PDF?sig=1#page=2' }, hard)).toBe(USER_MESSAGE + MAX_PAGES * PAGE)
    expect(chatImage({ url: 'https://example.com/report%2Epdf' }, hard)).toBe(USER_MESSAGE + MAX_PAGES * PAGE)
    expect(chatImage({ url: 'gs://bucket/report', format: 'application/pdf' }, hard)).toBe(USER_MESSAGE + MAX_PAGES * PAGE)
    expect(chatImage({ url: 'https://example.com/cat.png' }, hard)).toBe(USER_MESSAGE + MEDIA)
    expect(chatImage({ url: 'https://example.com/report.pdf.png' }, hard)).toBe(USER_MESSAGE + MEDIA)
  })

  test('pages in a Flate-compressed object stream (PDF 1.5+ writers) are counted', () => {
    expect(document(blankPdf(37, { objectStream: 'flate' }).toString('base64'))).toBe(DOCUMENT + 37 * PAGE)
  })

  test('pages that cannot be read count the configured maximum: an object stream under another filter, a file showing no page', () => {
    expect(document(blankPdf(3, { objectStream: 'unreadable' }).toString('base64'))).toBe(DOCUMENT + MAX_PAGES * PAGE)
    expect(document(Buffer.from('%PDF-1.7\n garbage').toString('base64'))).toBe(DOCUMENT + MAX_PAGES * PAGE)
  })

  test('a PDF is known by its media type, its file name or its header; any other file counts its bytes and is not decoded', () => {
    const bare = blankPdf(10).toString('base64')
    expect(inputFile({ file_data: bare })).toBeGreaterThanOrEqual(10 * PAGE)
    expect(chatFile({ filename: 'report.PDF', file_data: `data:application/octet-stream;base64,${bare}` })).toBe(USER_MESSAGE + 10 * PAGE)
    expect(document(bare, 'application/octet-stream')).toBe(DOCUMENT + 10 * PAGE)
    const text = Buffer.from('/Type /Page\n'.repeat(500)).toString('base64')
    const notes = { filename: 'notes.txt', file_data: `data:text/plain;base64,${text}` }
    expect(chatFile(notes)).toBe(USER_MESSAGE + textBytes({ type: 'file', file: notes }))
  })

  test('a PDF larger in bytes than in pages counts its bytes; by file id or URL, the media bound (cap-output off)', () => {
    expect(document(PDF_BASE64)).toBe(DOCUMENT + PDF_BASE64.length)
    expect(chatFile({ file_id: 'file-abc123' })).toBe(USER_MESSAGE + MEDIA)
    expect(inputFile({ file_id: 'file-abc123' })).toBeLessThan(MEDIA + 100)
    expect(inputFile({ file_url: 'https://example.com/a.pdf' })).toBeLessThan(MEDIA + 100)
  })

  test('with hard bounds (cap-output on) a file by file id or URL is held as the most PDF pages a request carries, once a request', () => {
    const hard = { ...p, hardBounds: true }
    const LARGEST = MAX_PAGES * PAGE
    const chatFiles = (...files: Array<Record<string, unknown>>) =>
      estimateChat({ model: 'm', messages: [{ role: 'user', content: files.map((file) => ({ type: 'file', file })) }] }, hard).inputTokens
    const inputFiles = (...parts: Array<Record<string, unknown>>) =>
      estimateResponses({ input: [{ role: 'user', content: parts.map((part) => ({ type: 'input_file', ...part })) }] }, hard).inputTokens
    const documents = (...sources: Array<Record<string, unknown>>) =>
      estimateMessages({ model: 'm', max_tokens: 50, messages: [{ role: 'user', content: sources.map((source) => ({ type: 'document', source })) }] }, hard).inputTokens
    const refBytes = (value: unknown) => JSON.stringify(value).length

    expect(chatFiles({ file_id: 'file-abc123' })).toBe(USER_MESSAGE + LARGEST)
    expect(inputFiles({ file_id: 'file-abc123' })).toBe(USER_MESSAGE + LARGEST)
    expect(inputFiles({ file_url: 'https://example.com/a.pdf' })).toBe(USER_MESSAGE + LARGEST)
    expect(documents({ type: 'url', url: 'https://example.com/a.pdf' })).toBe(DOCUMENT + LARGEST)
    expect(documents({ type: 'file', file_id: 'file_1' })).toBe(DOCUMENT + LARGEST)
    // The page limit is a request's, across its files: the second file by reference adds the media bound (at least its bytes).
    expect(chatFiles({ file_id: 'file-a' }, { file_id: 'file-b' })).toBe(USER_MESSAGE + LARGEST + Math.max(MEDIA, refBytes({ type: 'file', file: { file_id: 'file-b' } })))
    expect(documents({ type: 'url', url: 'https://example.com/a.pdf' }, { type: 'file', file_id: 'file_1' })).toBe(DOCUMENT + NO_FIELDS + LARGEST + MEDIA)
    // Inline files and images by reference are unchanged.
    expect(inputFiles({ filename: 'a.pdf', file_data: `data:application/pdf;base64,${pdf100}` })).toBe(USER_MESSAGE + 100 * PAGE)
    expect(estimateResponses({ input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-img' }] }] }, hard).inputTokens).toBe(USER_MESSAGE + MEDIA)
  })

  test('with hard bounds and a context window larger than that (Anthropic\'s 1M), the first file by reference is held at the window', () => {
    const windowed = { ...p, hardBounds: true, contextWindowTokens: 1_000_000 }
    const documents = (o: EstimateOptions, ...sources: Array<Record<string, unknown>>) =>
      estimateMessages({ model: 'm', max_tokens: 50, messages: [{ role: 'user', content: sources.map((source) => ({ type: 'document', source })) }] }, o).inputTokens
    expect(documents(windowed, { type: 'file', file_id: 'file_1' })).toBe(DOCUMENT + 1_000_000)
    expect(documents(windowed, { type: 'file', file_id: 'file_1' }, { type: 'file', file_id: 'file_2' })).toBe(DOCUMENT + NO_FIELDS + 1_000_000 + MEDIA)
    // A window below the PDF bound changes nothing; without hard bounds the window is not held.
    expect(documents({ ...windowed, contextWindowTokens: 50_000 }, { type: 'file', file_id: 'file_1' })).toBe(DOCUMENT + MAX_PAGES * PAGE)
    expect(documents({ ...windowed, hardBounds: false }, { type: 'file', file_id: 'file_1' })).toBe(DOCUMENT + MEDIA)
  })

  test('a PDF\'s text counts on top of its pages: a page whose content stream inflates to 1.2 MB of text counts that text', () => {
    const text = 'the '.repeat(300_000)
    const deflated = deflatedTextPdf(text).toString('base64')
    expect(deflated.length).toBeLessThan(10_000)
    // The content stream decoded: the text and the operators that show it.
    expect(document(deflated)).toBe(DOCUMENT + PAGE + `BT /F1 1 Tf 0 0 Td (${text}) Tj ET`.length)
    expect(chatFile({ filename: 'a.pdf', file_data: `data:application/pdf;base64,${deflated}` })).toBeGreaterThan(1_200_000)
  })

  test('a PDF whose text cannot be read (another filter) counts its pages, and with hard bounds as a file by reference too, once a request', () => {
    const lzw = (pages: number) => {
      const kids = Array.from({ length: pages }, (_, i) => `${i + 3} 0 R`).join(' ')
      const bodies = ['<< /Type /Catalog /Pages 2 0 R >>', `<< /Type /Pages /Count ${pages} /Kids [${kids}] >>`, ...Array.from({ length: pages }, () => `<< /Type /Page /Contents ${pages + 3} 0 R >>`), '<< /Filter /LZWDecode /Length 4 >>\nstream\nxxxx\nendstream']
      return Buffer.from(`%PDF-1.7\n${bodies.map((b, i) => `${i + 1} 0 obj\n${b}\nendobj\n`).join('')}%%EOF\n`, 'latin1').toString('base64')
    }
    expect(document(lzw(2))).toBe(DOCUMENT + 2 * PAGE)
    const hard = { ...p, hardBounds: true }
    const documents = (o: EstimateOptions, ...datas: string[]) =>
      estimateMessages({ model: 'm', max_tokens: 50, messages: [{ role: 'user', content: datas.map((data) => ({ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data } })) }] }, o).inputTokens
    expect(documents(hard, lzw(2))).toBe(DOCUMENT + MAX_PAGES * PAGE)
    expect(documents({ ...hard, contextWindowTokens: 1_000_000 }, lzw(2))).toBe(DOCUMENT + 1_000_000)
    // The request's limit holds across its files, as for files by reference: the second counts its pages.
    expect(documents(hard, lzw(2), lzw(3))).toBe(DOCUMENT + NO_FIELDS + MAX_PAGES * PAGE + 3 * PAGE)
  })

  test('the per-page bound unset is 3,000 tokens, and the maximum 100 pages', () => {
    const defaults = (data: string) => estimateMessages({ max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data } }] }] }, o).inputTokens
    expect(defaults(pdf100)).toBe(DOCUMENT + 100 * 3000)
    expect(defaults(blankPdf(2, { objectStream: 'unreadable' }).toString('base64'))).toBe(DOCUMENT + 100 * 3000)
  })
  test('a request\'s PDFs share one work budget: many small object-stream bombs are inflated no longer than one, the rest count the maximum', () => {
    // 64 kB that inflates to 63 MB, 16 of them in one request: each inflated to its own 64 MB bound before (~6 s).
    const data = objectStreamBomb().toString('base64')
    const blocks = (n: number, last?: string) => [
      ...Array.from({ length: n }, () => ({ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data } })),
      ...(last ? [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: last } }] : []),
    ]
    const started = performance.now()
    const many = estimateMessages({ model: 'm', max_tokens: 50, messages: [{ role: 'user', content: blocks(300) }] }, p).inputTokens
    // Measured ~80 ms (one bomb inflated to the budget, the others not read).
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(many).toBe(USER_MESSAGE + 300 * (NO_FIELDS + MAX_PAGES * PAGE))
    // Once the work is spent, a readable PDF after the bombs counts the maximum too: more, never fewer.
    const after = estimateMessages({ model: 'm', max_tokens: 50, messages: [{ role: 'user', content: blocks(1, blankPdf(200).toString('base64')) }] }, p).inputTokens
    expect(after).toBe(USER_MESSAGE + 2 * (NO_FIELDS + MAX_PAGES * PAGE))
    // Each request has its own: the same PDF alone is read.
    expect(document(blankPdf(200).toString('base64'))).toBe(DOCUMENT + 200 * PAGE)
  }, 30_000)
})
