import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider.ts'

let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider()
})
afterEach(() => mock.reset())
afterAll(() => mock.stop())

const OPENAI = { authorization: 'Bearer sk-test', 'content-type': 'application/json' }
const ANTHROPIC = { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }
const TEXT = 'Hello from the mock provider.'
// 'You are terse.' (14 bytes) + 'Hello there, mock!' (18 bytes) → ceil(32 / 4) + 2 × 3 = 14
const MESSAGES = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Hello there, mock!' },
]

function chat(body: object, headers: Record<string, string> = {}, init: RequestInit = {}) {
  return fetch(`${mock.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...OPENAI, ...headers },
    body: JSON.stringify({ model: 'gpt-test', messages: MESSAGES, ...body }),
    ...init,
  })
}

function anthropic(body: object, headers: Record<string, string> = ANTHROPIC) {
  return fetch(`${mock.url}/v1/messages`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'claude-test', max_tokens: 100, messages: [{ role: 'user', content: 'Hello there, mock!' }], ...body }),
  })
}

/** The `data:` payloads of an SSE body, in order. */
async function sseData(res: Response): Promise<string[]> {
  const text = await res.text()
  return text.split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''))
}

async function until(cond: () => boolean, ms = 1000) {
  const end = Date.now() + ms
  while (!cond() && Date.now() < end) await Bun.sleep(5)
  return cond()
}

describe('OpenAI chat completions', () => {
  test('non-stream answer with deterministic usage', async () => {
    mock.options.cachedTokens = 4
    const res = await chat({})
    expect(res.status).toBe(200)
    const body = (await res.json()) as any
    expect(body.id).toStartWith('chatcmpl-')
    expect(body.object).toBe('chat.completion')
    expect(body.model).toBe('gpt-test')
    expect(body.choices[0].message).toEqual({ role: 'assistant', content: TEXT })
    expect(body.choices[0].finish_reason).toBe('stop')
    expect(body.usage).toEqual({ prompt_tokens: 14, completion_tokens: 5, total_tokens: 19, prompt_tokens_details: { cached_tokens: 4 } })

    expect(mock.calls).toHaveLength(1)
    expect(mock.calls[0]!.path).toBe('/v1/chat/completions')
    expect(mock.calls[0]!.headers.authorization).toBe('Bearer sk-test')
    expect((mock.calls[0]!.body as any).model).toBe('gpt-test')
  })

  test('max_tokens truncates the completion', async () => {
    const body = (await (await chat({ max_completion_tokens: 2 })).json()) as any
    expect(body.choices[0].message.content).toBe('Hello from')
    expect(body.choices[0].finish_reason).toBe('length')
    expect(body.usage.completion_tokens).toBe(2)
  })

  test('tool call when tools are offered and the user asks about the weather', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }]
    const body = (await (await chat({ tools, messages: [{ role: 'user', content: 'What is the weather?' }] })).json()) as any
    expect(body.choices[0].finish_reason).toBe('tool_calls')
    expect(body.choices[0].message.content).toBeNull()
    expect(body.choices[0].message.tool_calls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    ])
    expect(body.usage.completion_tokens).toBe(12)

    const events = await sseData(await chat({ tools, stream: true, messages: [{ role: 'user', content: 'weather in Paris?' }] }))
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e))
    expect(chunks[0].choices[0].delta.tool_calls[0]).toMatchObject({ index: 0, id: 'call_1', function: { name: 'get_weather', arguments: '' } })
    const args = chunks.map((c) => c.choices[0]?.delta.tool_calls?.[0]?.function.arguments ?? '').join('')
    expect(args).toBe('{"city":"Paris"}')
    expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls')
  })

  test('stream without include_usage: role chunk, content deltas, finish chunk, [DONE]', async () => {
    const res = await chat({ stream: true })
    expect(res.headers.get('content-type')).toStartWith('text/event-stream')
    const events = await sseData(res)
    expect(events).toHaveLength(1 + 5 + 1 + 1)
    expect(events.at(-1)).toBe('[DONE]')
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e))
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' })
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(TEXT)
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop')
    expect(chunks.some((c) => 'usage' in c)).toBe(false)
  })

  test('stream with include_usage: usage null on every chunk, then a usage chunk', async () => {
    mock.options.chunks = 3
    const events = await sseData(await chat({ stream: true, stream_options: { include_usage: true } }))
    expect(events).toHaveLength(1 + 3 + 1 + 1 + 1)
    expect(events.at(-1)).toBe('[DONE]')
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e))
    const last = chunks.pop()
    expect(chunks.every((c) => c.usage === null)).toBe(true)
    expect(last.choices).toEqual([])
    expect(last.usage).toEqual({ prompt_tokens: 14, completion_tokens: 5, total_tokens: 19, prompt_tokens_details: { cached_tokens: 0 } })
  })
})

describe('Anthropic messages', () => {
  test('non-stream answer; input_tokens excludes cached tokens; system text counted', async () => {
    mock.options.cachedTokens = 2
    // 'Be brief.' (9) + 'Hello there, mock!' (18) → ceil(27 / 4) + 3 = 10, minus 2 cached
    const body = (await (await anthropic({ system: 'Be brief.' })).json()) as any
    expect(body).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-test', stop_reason: 'end_turn', stop_sequence: null })
    expect(body.id).toStartWith('msg_')
    expect(body.content).toEqual([{ type: 'text', text: TEXT }])
    expect(body.usage).toEqual({ input_tokens: 8, output_tokens: 5, cache_read_input_tokens: 2, cache_creation_input_tokens: 0 })
  })

  test('missing max_tokens is a 400 in Anthropic error shape', async () => {
    const res = await anthropic({ max_tokens: undefined })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } })
  })

  test('tool_use when tools are given and the user asks about the weather', async () => {
    const body = (await (await anthropic({
      tools: [{ name: 'get_weather', input_schema: { type: 'object' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'weather in Paris?' }] }],
    })).json()) as any
    expect(body.stop_reason).toBe('tool_use')
    expect(body.content).toEqual([{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }])
  })

  test('stream event order', async () => {
    const res = await anthropic({ stream: true })
    const events = (await res.text()).split('\n\n').filter(Boolean).map((e) => {
      const [name, data] = e.split('\n') as [string, string]
      return { name: name.replace('event: ', ''), data: JSON.parse(data.replace('data: ', '')) }
    })
    expect(events.map((e) => e.name)).toEqual([
      'message_start', 'ping', 'content_block_start',
      ...Array(5).fill('content_block_delta'),
      'content_block_stop', 'message_delta', 'message_stop',
    ])
    expect(events.every((e) => e.data.type === e.name)).toBe(true)
    expect(events[0]!.data.message.usage).toMatchObject({ input_tokens: 8, output_tokens: 1 })
    expect(events.filter((e) => e.name === 'content_block_delta').map((e) => e.data.delta.text).join('')).toBe(TEXT)
    expect(events.at(-2)!.data).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } })
  })
})

describe('failure behaviours', () => {
  test('fail-500 / fail-429 / fail-400 with provider-shaped errors', async () => {
    mock.behavior = 'fail-500'
    const r500 = await chat({})
    expect(r500.status).toBe(500)
    expect(((await r500.json()) as any).error.type).toBe('server_error')
    const a500 = await anthropic({})
    expect(a500.status).toBe(500)
    expect(((await a500.json()) as any)).toMatchObject({ type: 'error', error: { type: 'api_error' } })

    mock.behavior = 'fail-429'
    const r429 = await chat({})
    expect(r429.status).toBe(429)
    expect(r429.headers.get('retry-after')).toBe('1')
    expect(((await r429.json()) as any).error.code).toBe('rate_limit_exceeded')

    mock.behavior = 'fail-400'
    expect((await chat({})).status).toBe(400)
  })

  test('hang until the client aborts; the abort is counted', async () => {
    mock.queue('hang')
    const started = Date.now()
    await expect(chat({}, {}, { signal: AbortSignal.timeout(200) })).rejects.toThrow()
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    expect(await until(() => mock.aborts === 1)).toBe(true)
  })

  test('reset makes fetch fail with a network error', async () => {
    mock.queue('reset')
    await expect(chat({})).rejects.toThrow()
    expect((await chat({})).status).toBe(200) // the server is still fine afterwards
  })

  test('malformed-json is a 200 JSON response that does not parse', async () => {
    mock.queue('malformed-json')
    const res = await chat({})
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    await expect(res.json()).rejects.toThrow()
  })

  test('cut-body sends the 200 and half its body, then drops the connection', async () => {
    mock.queue('cut-body')
    const res = await chat({})
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    await expect(res.text()).rejects.toThrow()
    expect((await chat({})).status).toBe(200) // the server is still fine afterwards
  })

  test('truncated-sse ends without finish chunk, usage or [DONE]', async () => {
    mock.queue('truncated-sse', 'truncated-sse')
    const events = await sseData(await chat({ stream: true, stream_options: { include_usage: true } }))
    expect(events.length).toBeGreaterThan(1)
    expect(events).not.toContain('[DONE]')
    const chunks = events.map((e) => JSON.parse(e))
    expect(chunks.every((c) => c.usage === null && c.choices[0].finish_reason === null)).toBe(true)

    const names = (await (await anthropic({ stream: true })).text()).match(/^event: \w+/gm)!
    expect(names).toContain('event: content_block_delta')
    expect(names).not.toContain('event: message_stop')
  })

  test('malformed-sse has valid chunks, then lines that are not valid SSE/JSON', async () => {
    mock.queue('malformed-sse')
    const events = await sseData(await chat({ stream: true }))
    expect(() => JSON.parse(events[0]!)).not.toThrow()
    expect(events).not.toContain('[DONE]')
    expect(events.some((e) => { try { JSON.parse(e); return false } catch { return true } })).toBe(true)
  })

  test('no-usage: no usage chunk even when include_usage is asked; none in Anthropic events either', async () => {
    mock.queue('no-usage', 'no-usage')
    const events = await sseData(await chat({ stream: true, stream_options: { include_usage: true } }))
    expect(events.at(-1)).toBe('[DONE]')
    expect(events.slice(0, -1).map((e) => JSON.parse(e)).some((c) => 'usage' in c)).toBe(false)
    expect(await (await anthropic({ stream: true })).text()).not.toContain('usage')
  })

  test('slow-stream spaces the chunks; a client abort mid-stream is counted', async () => {
    mock.options.chunkDelayMs = 20
    mock.queue('slow-stream')
    const started = Date.now()
    await sseData(await chat({ stream: true }))
    expect(Date.now() - started).toBeGreaterThanOrEqual(7 * 20 - 5) // 8 events, 7 gaps

    mock.queue('slow-stream')
    const controller = new AbortController()
    const res = await chat({ stream: true }, {}, { signal: controller.signal })
    const reader = res.body!.getReader()
    await reader.read()
    controller.abort()
    expect(await until(() => mock.aborts === 1)).toBe(true)
  })

  test('latency delays the answer', async () => {
    mock.options.latencyMs = 60
    const started = Date.now()
    expect((await chat({})).status).toBe(200)
    expect(Date.now() - started).toBeGreaterThanOrEqual(55)
  })
})

describe('control', () => {
  test('queue is FIFO, then `behavior` applies; the header overrides without consuming it', async () => {
    mock.queue('fail-500', 'fail-429')
    mock.behavior = 'fail-400'
    expect((await chat({}, { 'x-mock-behavior': 'ok' })).status).toBe(200)
    expect((await chat({})).status).toBe(500)
    expect((await chat({})).status).toBe(429)
    expect((await chat({})).status).toBe(400)
    expect((await chat({}, { 'x-mock-behavior': 'bogus' })).status).toBe(400)
  })

  test('reset() restores options, behaviour, queue, calls and aborts', async () => {
    mock.options.completionText = 'changed'
    mock.behavior = 'fail-500'
    mock.queue('hang')
    await chat({}, { 'x-mock-behavior': 'ok' })
    mock.reset()
    expect(mock.calls).toEqual([])
    expect(mock.options).toEqual({})
    const body = (await (await chat({})).json()) as any
    expect(body.choices[0].message.content).toBe(TEXT)
  })

  test('credentials are required', async () => {
    const res = await chat({}, { authorization: '' })
    expect(res.status).toBe(401)
    expect(((await res.json()) as any).error.message).toBeString()
    const noVersion = await anthropic({}, { 'x-api-key': 'k', 'content-type': 'application/json' })
    expect(noVersion.status).toBe(401)
    expect(((await noVersion.json()) as any).error.type).toBe('authentication_error')
  })
})

describe('other routes', () => {
  test('multipart transcription is parsed and recorded', async () => {
    const form = new FormData()
    form.set('model', 'whisper-1')
    form.set('file', new File([new Uint8Array(16)], 'audio.mp3', { type: 'audio/mpeg' }))
    const res = await fetch(`${mock.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: form })
    expect(await res.json()).toEqual({ text: 'transcribed by mock' })
    expect(mock.calls[0]!.body).toEqual({ fields: { model: 'whisper-1' }, files: ['audio.mp3'] })
  })

  test('embeddings, moderations, speech, models and 404', async () => {
    const post = (path: string, body: object) =>
      fetch(`${mock.url}/v1${path}`, { method: 'POST', headers: OPENAI, body: JSON.stringify(body) })

    const emb = (await (await post('/embeddings', { model: 'emb', input: ['a', 'bb'] })).json()) as any
    expect(emb.data).toHaveLength(2)
    expect(emb.data[0].embedding).toHaveLength(8)
    expect(emb.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 })

    const mod = (await (await post('/moderations', { input: 'hi' })).json()) as any
    expect(mod.results[0].flagged).toBe(false)

    const speech = await post('/audio/speech', { model: 'tts', input: 'hi', voice: 'alloy' })
    expect(speech.headers.get('content-type')).toBe('audio/mpeg')
    expect((await speech.arrayBuffer()).byteLength).toBe(2048)

    const models = (await (await fetch(`${mock.url}/v1/models`, { headers: OPENAI })).json()) as any
    expect(models.data).toHaveLength(2)

    const missing = await post('/nope', {})
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as any).error.message).toContain('/v1/nope')
  })
})

describe('scripted tool round trip (toolCall)', () => {
  const READ_TOOL = { name: 'Read', description: 'Reads a file', input_schema: { type: 'object', properties: { file_path: { type: 'string' } } } }

  test('Anthropic: calls the scripted tool first, then repeats the tool result', async () => {
    mock.options.toolCall = { name: 'Read', input: { file_path: '/tmp/note.txt' } }
    const first = (await (await anthropic({ tools: [READ_TOOL], messages: [{ role: 'user', content: 'read it' }] })).json()) as any
    expect(first.stop_reason).toBe('tool_use')
    expect(first.content).toEqual([{ type: 'tool_use', id: 'toolu_1', name: 'Read', input: { file_path: '/tmp/note.txt' } }])

    const second = (await (await anthropic({
      stream: true,
      tools: [READ_TOOL],
      messages: [
        { role: 'user', content: 'read it' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'tangerine' }] }] },
      ],
    })).text())
    const deltas = [...second.matchAll(/"text":"([^"]*)"/g)].map((m) => m[1]).join('')
    expect(deltas).toBe('Tool result: tangerine')
    expect(second).toContain('"stop_reason":"end_turn"')
  })

  test('chat: a stream calls the scripted tool; a `tool` message gets its text back', async () => {
    mock.options.toolCall = { name: 'shell', input: { command: ['ls'] } }
    const tools = [{ type: 'function', function: { name: 'shell', parameters: { type: 'object' } } }]
    const stream = (await sseData(await chat({ stream: true, tools }))).filter((d) => d !== '[DONE]').map((d) => JSON.parse(d))
    const args = stream.map((c) => c.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? '').join('')
    expect(stream[0].choices[0].delta.tool_calls[0].function.name).toBe('shell')
    expect(JSON.parse(args)).toEqual({ command: ['ls'] })

    const after = (await (await chat({
      tools,
      messages: [...MESSAGES, { role: 'tool', tool_call_id: 'call_1', content: 'note.txt' }],
    })).json()) as any
    expect(after.choices[0].message.content).toBe('Tool result: note.txt')
  })

  test('Responses: a stream calls the scripted function; a function_call_output gets its text back', async () => {
    mock.options.toolCall = { name: 'exec_command', input: { cmd: 'ls' } }
    const post = (body: object) => fetch(`${mock.url}/v1/responses`, { method: 'POST', headers: OPENAI, body: JSON.stringify({ model: 'gpt-test', ...body }) })
    const tools = [{ type: 'function', name: 'exec_command', parameters: { type: 'object' } }, { type: 'web_search' }]
    const events = (await sseData(await post({ stream: true, input: 'list the files', tools }))).map((e) => JSON.parse(e.slice(e.indexOf('{'))))
    const done = events.find((e) => e.type === 'response.output_item.done')
    expect(done.item).toMatchObject({ type: 'function_call', name: 'exec_command', arguments: '{"cmd":"ls"}' })

    const after = (await (await post({
      tools,
      input: [{ role: 'user', content: 'list the files' }, done.item, { type: 'function_call_output', call_id: done.item.call_id, output: 'note.txt' }],
    })).json()) as any
    expect(after.output[0].content[0].text).toBe('Tool result: note.txt')
  })

  test('a request that does not offer the scripted tool is answered as usual', async () => {
    mock.options.toolCall = { name: 'Read', input: {} }
    const body = (await (await anthropic({})).json()) as any
    expect(body.content).toEqual([{ type: 'text', text: TEXT }])
  })
})
