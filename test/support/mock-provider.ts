/**
 * A mock LLM provider speaking real HTTP (Bun.serve on 127.0.0.1).
 *
 * OpenAI routes live under `/v1` (base_url `${url}/v1`); the Anthropic Messages API is
 * `POST /v1/messages` (base_url `${url}`). Behaviour per request, first match wins:
 * the `x-mock-behavior` header, then the FIFO `queue(...)`, then `behavior`.
 *
 * Order of handling: record the call → routing (404) → credentials (401) → pick the
 * behaviour (only routed, authenticated requests consume the queue) → wait `latencyMs`
 * (applies to every answer, errors included) → answer.
 *
 * The stream behaviours (malformed-sse, truncated-sse, slow-stream) answer normally on
 * non-stream requests; 'no-usage' on a non-stream request omits the `usage` field.
 * Tokens: prompt = ceil(UTF-8 bytes of message text (+ Anthropic `system`) / 4) + 3 per
 * message, never below `cachedTokens`; completion = words of the completion text (12 for
 * a tool call). Anthropic's input_tokens is that prompt count minus the cached tokens.
 *
 * Used in-process by tests (`startMockProvider()`) and as a CLI:
 *   bun test/support/mock-provider.ts --port 9999 --latency 20 --chunks 8 --chunk-delay 30
 */

export type MockBehavior =
  | 'ok'
  | 'fail-500'
  | 'fail-429'
  | 'fail-400'
  | 'hang'
  | 'reset'
  | 'malformed-json'
  | 'malformed-sse'
  | 'truncated-sse'
  | 'no-usage'
  | 'slow-stream'

export interface MockOptions {
  port?: number
  latencyMs?: number
  chunks?: number
  chunkDelayMs?: number
  cachedTokens?: number
  completionText?: string
  /**
   * A scripted tool round trip, for agents that bring their own tools (Claude Code, Codex): while the
   * request offers a tool of this name and carries no tool result yet, answer with a call to it; once
   * a result is there, answer `Tool result: <its text>` (unless `completionText` is set).
   */
  toolCall?: { name: string; input: Record<string, unknown> }
}

export interface RecordedCall {
  method: string
  path: string
  headers: Record<string, string>
  /** Parsed JSON; for multipart `{ fields, files }`; otherwise the raw text (null when empty). */
  body: unknown
  at: number
}

export interface MockProvider {
  url: string
  port: number
  calls: RecordedCall[]
  options: MockOptions
  behavior: MockBehavior
  /** Requests/streams the client abandoned before the mock finished answering. */
  aborts: number
  queue(...b: MockBehavior[]): void
  /** Clears calls, queue and aborts; behavior = 'ok'; options back to the start options. */
  reset(): void
  stop(): Promise<void>
}

const BEHAVIORS: ReadonlySet<string> = new Set<MockBehavior>([
  'ok', 'fail-500', 'fail-429', 'fail-400', 'hang', 'reset', 'malformed-json',
  'malformed-sse', 'truncated-sse', 'no-usage', 'slow-stream',
])
const MAX_CALLS = 10_000
const DEFAULT_TEXT = 'Hello from the mock provider.'
const TOOL_ARGS = '{"city":"Paris"}'
const TOOL_COMPLETION_TOKENS = 12

type Api = 'openai' | 'anthropic'
type Json = Record<string, any>

/** Everything a route handler needs about one request. */
interface Ctx {
  body: Json
  behavior: MockBehavior
  opts: MockOptions
  /** Called at most once, when the client goes away before the answer is complete. */
  onAbort: () => void
}

// ---------------------------------------------------------------------------
// Small helpers

const encoder = new TextEncoder()
const JSON_HEADERS = { 'content-type': 'application/json' }
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }

const json = (data: unknown, status = 200, headers: Record<string, string> = JSON_HEADERS) =>
  new Response(JSON.stringify(data), { status, headers })

const bytes = (s: string) => Buffer.byteLength(s, 'utf8')
const wordsOf = (s: string) => s.split(/\s+/).filter(Boolean)
const tokensOf = (s: string) => Math.ceil(bytes(s) / 4)

let idCounter = 0
const nextId = () => (++idCounter).toString(36).padStart(8, '0')

function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  const q = url.indexOf('?', start)
  return q < 0 ? url.slice(start) : url.slice(start, q)
}

/** Text of a message `content`: a string, or the `text` of its text parts. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  let out = ''
  for (const part of content) if (part && typeof part.text === 'string') out += part.text
  return out
}

/** prompt tokens = ceil(bytes of all message text / 4) + 3 per message (+ extra text such as a system prompt). */
function promptTokens(messages: unknown, extraText = ''): number {
  const list = Array.isArray(messages) ? messages : []
  let n = bytes(extraText)
  for (const m of list) n += bytes(textOf(m?.content))
  return Math.ceil(n / 4) + 3 * list.length
}

/** True when the request offers tools and the last message is a user message mentioning the weather. */
function wantsTool(body: Json): boolean {
  if (!Array.isArray(body.tools) || body.tools.length === 0 || !Array.isArray(body.messages)) return false
  const last = body.messages[body.messages.length - 1]
  return last?.role === 'user' && /\bweather\b/i.test(textOf(last.content))
}

const toolName = (body: Json): string => body.tools[0]?.function?.name ?? body.tools[0]?.name ?? 'get_weather'

/** The tool call this answer makes, if any: the scripted one, else the weather tool. */
function toolTurn(body: Json, opts: MockOptions): { name: string; args: string } | undefined {
  const scripted = opts.toolCall
  if (scripted && offersTool(body, scripted.name) && toolResults(body).length === 0) {
    return { name: scripted.name, args: JSON.stringify(scripted.input) }
  }
  return wantsTool(body) ? { name: toolName(body), args: TOOL_ARGS } : undefined
}

const offersTool = (body: Json, name: string): boolean =>
  Array.isArray(body.tools) && body.tools.some((t: Json) => (t?.function?.name ?? t?.name) === name)

/** Texts of the tool results in a request: chat `tool` messages, Anthropic `tool_result` blocks, Responses `*_call_output` items. */
function toolResults(body: Json): string[] {
  const out: string[] = []
  const items = [...(Array.isArray(body.messages) ? body.messages : []), ...(Array.isArray(body.input) ? body.input : [])]
  for (const item of items) {
    if (item?.role === 'tool') out.push(textOf(item.content))
    if (typeof item?.type === 'string' && item.type.endsWith('_call_output')) {
      out.push(typeof item.output === 'string' ? item.output : textOf(item.output))
    }
    if (Array.isArray(item?.content)) {
      for (const block of item.content) {
        if (block?.type === 'tool_result') out.push(typeof block.content === 'string' ? block.content : textOf(block.content))
      }
    }
  }
  return out
}

/** The options to answer with: after a scripted tool's result, the answer repeats that result. */
function answerOptions(body: Json, opts: MockOptions): MockOptions {
  if (!opts.toolCall || opts.completionText !== undefined) return opts
  const results = toolResults(body)
  return results.length === 0 ? opts : { ...opts, completionText: `Tool result: ${results[results.length - 1]}` }
}

/** The completion text, truncated to `limit` words when that is smaller. */
function completion(opts: MockOptions, limit: unknown) {
  const text = opts.completionText ?? DEFAULT_TEXT
  const words = wordsOf(text)
  if (typeof limit === 'number' && limit < words.length) {
    const kept = words.slice(0, Math.max(0, limit))
    return { text: kept.join(' '), tokens: kept.length, truncated: true }
  }
  return { text, tokens: words.length, truncated: false }
}

/** Splits `text` into `n` pieces of (almost) equal length, by code point. */
function split(text: string, n: number): string[] {
  const cps = Array.from(text)
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    out.push(cps.slice(Math.floor((i * cps.length) / n), Math.floor(((i + 1) * cps.length) / n)).join(''))
  }
  return out
}

const chunkCount = (opts: MockOptions) => Math.max(1, opts.chunks ?? 5)

/**
 * A real incremental SSE stream: events are enqueued one by one, `delayMs` apart
 * (all at once when 0). Timers are cleared and `onAbort` called if the client cancels.
 */
function sse(events: string[], delayMs: number, onAbort: () => void): Response {
  let timer: ReturnType<typeof setTimeout> | undefined
  let finished = false
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      if (delayMs <= 0) {
        for (const e of events) c.enqueue(encoder.encode(e))
        finished = true
        c.close()
        return
      }
      let i = 0
      const tick = () => {
        timer = undefined
        c.enqueue(encoder.encode(events[i++]!))
        if (i < events.length) timer = setTimeout(tick, delayMs)
        else {
          finished = true
          c.close()
        }
      }
      tick()
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer)
      if (!finished) onAbort()
    },
  })
  return new Response(body, { headers: SSE_HEADERS })
}

/** Applies the stream-damaging behaviours to a list of well-formed events. */
function streamFor(ctx: Ctx, events: string[], contentStart: number, garbage: string[]): Response {
  const { behavior, opts } = ctx
  const delay = behavior === 'slow-stream' ? opts.chunkDelayMs || 50 : opts.chunkDelayMs ?? 0
  if (behavior === 'truncated-sse' || behavior === 'malformed-sse') {
    // keep the preamble and about half of the content deltas
    const kept = events.slice(0, contentStart + Math.max(1, Math.floor(chunkCount(opts) / 2)))
    if (behavior === 'malformed-sse') kept.push(...garbage)
    events = kept
  }
  return sse(events, delay, ctx.onAbort)
}

// ---------------------------------------------------------------------------
// Errors

const OPENAI_ERROR_TYPES: Record<number, [type: string, code: string | null]> = {
  400: ['invalid_request_error', null],
  401: ['invalid_request_error', 'invalid_api_key'],
  404: ['invalid_request_error', 'unknown_url'],
  429: ['requests', 'rate_limit_exceeded'],
  500: ['server_error', null],
}
const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  500: 'api_error',
}

function apiError(api: Api, status: number, message: string, headers?: Record<string, string>): Response {
  const h = headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS
  if (api === 'anthropic') {
    return json({ type: 'error', error: { type: ANTHROPIC_ERROR_TYPES[status] ?? 'api_error', message } }, status, h)
  }
  const [type, code] = OPENAI_ERROR_TYPES[status] ?? ['server_error', null]
  return json({ error: { message, type, param: null, code } }, status, h)
}

// ---------------------------------------------------------------------------
// OpenAI routes

function chatCompletions(ctx: Ctx): Response {
  const { body, opts, behavior } = ctx
  const id = `chatcmpl-mock${nextId()}`
  const created = Math.floor(Date.now() / 1000)
  const model = body.model ?? 'mock-model'
  const promptTok = Math.max(promptTokens(body.messages), opts.cachedTokens ?? 0)
  const tool = toolTurn(body, opts)
  const answer = tool ? undefined : completion(answerOptions(body, opts), body.max_completion_tokens ?? body.max_tokens)
  const completionTok = answer ? answer.tokens : TOOL_COMPLETION_TOKENS
  const finish = tool ? 'tool_calls' : answer!.truncated ? 'length' : 'stop'
  const usage = behavior === 'no-usage' ? undefined : {
    prompt_tokens: promptTok,
    completion_tokens: completionTok,
    total_tokens: promptTok + completionTok,
    prompt_tokens_details: { cached_tokens: opts.cachedTokens ?? 0 },
  }
  const toolCall = { id: 'call_1', type: 'function', function: { name: tool?.name ?? '', arguments: tool?.args ?? '' } }

  if (body.stream !== true) {
    const message = tool
      ? { role: 'assistant', content: null, tool_calls: [toolCall] }
      : { role: 'assistant', content: answer!.text }
    return json({
      id, object: 'chat.completion', created, model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
      usage,
    })
  }

  // With include_usage every chunk carries `usage` (null until the final, choice-less one).
  const withUsage = usage !== undefined && body.stream_options?.include_usage === true
  const event = (choices: unknown[], u: unknown = null) => {
    const chunk: Json = { id, object: 'chat.completion.chunk', created, model, choices }
    if (withUsage) chunk.usage = u
    return `data: ${JSON.stringify(chunk)}\n\n`
  }
  const choice = (delta: unknown, finish_reason: string | null = null) => [{ index: 0, delta, logprobs: null, finish_reason }]

  const n = chunkCount(opts)
  const events = tool
    ? [
      event(choice({ role: 'assistant', content: null, tool_calls: [{ index: 0, ...toolCall, function: { name: toolCall.function.name, arguments: '' } }] })),
      ...split(toolCall.function.arguments, n).map((a) => event(choice({ tool_calls: [{ index: 0, function: { arguments: a } }] }))),
    ]
    : [
      event(choice({ role: 'assistant', content: '' })),
      ...split(answer!.text, n).map((t) => event(choice({ content: t }))),
    ]
  events.push(event(choice({}, finish)))
  if (withUsage) events.push(event([], usage))
  events.push('data: [DONE]\n\n')

  const garbage = ['data: {"id":"' + id + '","choices":[{"delta":{"content":\n\n', 'this is not an sse line\n\n']
  return streamFor(ctx, events, 1, garbage)
}

/** Deterministic 8-dim vector derived from the text. */
function embed(text: string): number[] {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  const v: number[] = []
  for (let i = 0; i < 8; i++) v.push(Math.round(Math.sin(h + i) * 1e6) / 1e6)
  return v
}

function embeddings({ body }: Ctx): Response {
  const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input]
  let tokens = 0
  const data = inputs.map((input, index) => {
    const text = typeof input === 'string' ? input : JSON.stringify(input ?? '')
    tokens += tokensOf(text)
    const vector = embed(text)
    const embedding = body.encoding_format === 'base64'
      ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
      : vector
    return { object: 'embedding', index, embedding }
  })
  return json({ object: 'list', data, model: body.model ?? 'mock-embedding', usage: { prompt_tokens: tokens, total_tokens: tokens } })
}

const MODERATION_CATEGORIES = [
  'harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit', 'illicit/violent',
  'self-harm', 'self-harm/intent', 'self-harm/instructions', 'sexual', 'sexual/minors', 'violence', 'violence/graphic',
]
const MODERATION_RESULT = {
  flagged: false,
  categories: Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, false])),
  category_scores: Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, 0.0001])),
}

function moderations({ body }: Ctx): Response {
  const count = Array.isArray(body.input) && body.input.every((i: unknown) => typeof i === 'string') ? body.input.length : 1
  return json({
    id: `modr-mock${nextId()}`,
    model: body.model ?? 'omni-moderation-latest',
    results: Array.from({ length: count }, () => MODERATION_RESULT),
  })
}

/** 2048 deterministic bytes, starting like an MPEG audio frame header. */
const SPEECH = new Blob([Uint8Array.from({ length: 2048 }, (_, i) => (i === 0 ? 0xff : i === 1 ? 0xfb : (i * 31) & 0xff))])
const speech = () => new Response(SPEECH, { headers: { 'content-type': 'audio/mpeg' } })

function transcriptions({ body }: Ctx): Response {
  if (body.fields?.response_format === 'text') {
    return new Response('transcribed by mock', { headers: { 'content-type': 'text/plain' } })
  }
  return json({ text: 'transcribed by mock' })
}

const MODELS_BODY = JSON.stringify({
  object: 'list',
  data: [
    { id: 'mock-gpt-small', object: 'model', created: 1_700_000_000, owned_by: 'mock' },
    { id: 'mock-gpt-large', object: 'model', created: 1_700_000_000, owned_by: 'mock' },
  ],
})
const models = () => new Response(MODELS_BODY, { headers: JSON_HEADERS })

// ---------------------------------------------------------------------------
// Anthropic Messages API

function messages(ctx: Ctx): Response {
  const { body, opts, behavior } = ctx
  if (typeof body.max_tokens !== 'number') return apiError('anthropic', 400, 'max_tokens: Field required')

  const id = `msg_mock${nextId()}`
  const model = body.model ?? 'mock-claude'
  const cached = opts.cachedTokens ?? 0
  const inputTok = Math.max(0, promptTokens(body.messages, textOf(body.system)) - cached)
  const tool = toolTurn(body, opts)
  const answer = tool ? undefined : completion(answerOptions(body, opts), body.max_tokens)
  const outputTok = answer ? answer.tokens : TOOL_COMPLETION_TOKENS
  const stopReason = tool ? 'tool_use' : answer!.truncated ? 'max_tokens' : 'end_turn'
  const noUsage = behavior === 'no-usage'
  const usage = (output: number) => noUsage ? undefined : {
    input_tokens: inputTok, output_tokens: output,
    cache_read_input_tokens: cached, cache_creation_input_tokens: 0,
  }

  if (body.stream !== true) {
    const content = tool
      ? [{ type: 'tool_use', id: 'toolu_1', name: tool.name, input: JSON.parse(tool.args) }]
      : [{ type: 'text', text: answer!.text }]
    return json({ id, type: 'message', role: 'assistant', model, content, stop_reason: stopReason, stop_sequence: null, usage: usage(outputTok) })
  }

  const event = (name: string, data: Json) => `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`
  const n = chunkCount(opts)
  const events = [
    event('message_start', { message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: usage(1) } }),
    event('ping', {}),
    tool
      ? event('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: tool.name, input: {} } })
      : event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ...(tool
      ? split(tool.args, n).map((p) => event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: p } }))
      : split(answer!.text, n).map((t) => event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: t } }))),
    event('content_block_stop', { index: 0 }),
    event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: noUsage ? undefined : { output_tokens: outputTok } }),
    event('message_stop', {}),
  ]
  const garbage = ['event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{\n\n', 'this is not an sse line\n\n']
  return streamFor(ctx, events, 3, garbage)
}

// ---------------------------------------------------------------------------
// Server

type Handler = (ctx: Ctx) => Response
type BodyKind = 'json' | 'multipart' | 'none'
const ROUTES = new Map<string, { kind: BodyKind; handle: Handler }>([
  ['POST /v1/chat/completions', { kind: 'json', handle: chatCompletions }],
  ['POST /v1/embeddings', { kind: 'json', handle: embeddings }],
  ['POST /v1/moderations', { kind: 'json', handle: moderations }],
  ['POST /v1/audio/speech', { kind: 'json', handle: speech }],
  ['POST /v1/audio/transcriptions', { kind: 'multipart', handle: transcriptions }],
  ['GET /v1/models', { kind: 'none', handle: models }],
  ['POST /v1/messages', { kind: 'json', handle: messages }],
])

async function readBody(req: Request, kind: BodyKind | undefined): Promise<unknown> {
  if (kind === 'multipart') {
    try {
      const form = await req.formData()
      const fields: Record<string, string> = {}
      const files: string[] = []
      for (const [k, v] of form) {
        if (typeof v === 'string') fields[k] = v
        else files.push(v.name)
      }
      return { fields, files }
    } catch {
      return null
    }
  }
  const text = await req.text()
  if (text === '') return null
  if (kind !== 'json') return text
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function authorized(api: Api, h: Headers): boolean {
  if (api === 'anthropic') return !!h.get('x-api-key') && !!h.get('anthropic-version')
  return /^Bearer\s+\S/i.test(h.get('authorization') ?? '')
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })

export function startMockProvider(options: MockOptions = {}): MockProvider {
  const initial = { ...options }
  let pending: MockBehavior[] = []

  const mock: MockProvider = {
    url: '',
    port: 0,
    calls: [],
    options: { ...initial },
    behavior: 'ok',
    aborts: 0,
    queue: (...b) => void pending.push(...b),
    reset() {
      mock.calls.length = 0
      pending = []
      mock.behavior = 'ok'
      mock.aborts = 0
      mock.options = { ...initial }
    },
    stop: () => server.stop(true),
  }

  async function handle(req: Request): Promise<Response> {
    const path = pathOf(req.url)
    const route = ROUTES.get(`${req.method} ${path}`)
    const api: Api = path === '/v1/messages' ? 'anthropic' : 'openai'
    const body = await readBody(req, route?.kind)
    if (mock.calls.push({ method: req.method, path, headers: req.headers.toJSON(), body, at: Date.now() }) > MAX_CALLS) {
      mock.calls.shift()
    }

    // Decide everything that depends on arrival order before waiting.
    const override = req.headers.get('x-mock-behavior')
    let failure: Response | undefined
    if (!route) failure = apiError(api, 404, `Invalid URL (${req.method} ${path})`)
    else if (!authorized(api, req.headers)) failure = apiError(api, 401, 'Missing credentials (mock).')
    else if (override !== null && !BEHAVIORS.has(override)) failure = apiError(api, 400, `Unknown x-mock-behavior: ${override}`)
    const behavior = failure ? 'ok' : (override as MockBehavior | null) ?? pending.shift() ?? mock.behavior
    const opts = mock.options

    let aborted = false
    const onAbort = () => {
      if (!aborted) {
        aborted = true
        mock.aborts++
      }
    }
    const latency = opts.latencyMs ?? 0
    if (latency > 0) {
      await sleep(latency, req.signal)
      if (req.signal.aborted) {
        onAbort()
        return new Response(null, { status: 499 })
      }
    }
    if (!route || failure) return failure as Response

    switch (behavior) {
      case 'fail-500':
        return apiError(api, 500, 'The server had an error while processing your request (mock).')
      case 'fail-429':
        return apiError(api, 429, 'Rate limit reached (mock).', { 'retry-after': '1' })
      case 'fail-400':
        return apiError(api, 400, 'Invalid request (mock).')
      case 'malformed-json':
        return new Response('{"id": "broken", "choices": [', { headers: JSON_HEADERS })
      case 'reset':
        // Erroring the body before anything is sent makes Bun drop the connection: the client sees ECONNRESET.
        return new Response(new ReadableStream({ start: (c) => c.error() }))
      case 'hang':
        return new Promise((resolve) => {
          const release = () => {
            onAbort()
            resolve(new Response(null, { status: 499 }))
          }
          if (req.signal.aborted) release()
          else req.signal.addEventListener('abort', release, { once: true })
        })
    }

    if (route.kind !== 'none' && (body === null || typeof body !== 'object')) {
      return apiError(api, 400, 'Could not parse the request body.')
    }
    return route.handle({ body: (body ?? {}) as Json, behavior, opts, onAbort })
  }

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: options.port ?? 0,
    idleTimeout: 0, // 'hang' and slow streams must not be cut by Bun's 10 s idle timeout
    development: false,
    fetch: handle,
    error: (err) => json({ error: { message: `mock provider crashed: ${err.message}`, type: 'server_error', param: null, code: null } }, 500),
  })
  mock.port = server.port!
  mock.url = `http://127.0.0.1:${server.port}`
  return mock
}

// ---------------------------------------------------------------------------
// CLI

if (import.meta.main) {
  const args = process.argv.slice(2)
  const num = (flag: string): number | undefined => {
    const i = args.indexOf(flag)
    if (i < 0) return undefined
    const n = Number(args[i + 1])
    if (!Number.isFinite(n)) {
      console.error(`${flag} needs a number`)
      process.exit(2)
    }
    return n
  }
  const mock = startMockProvider({
    port: num('--port') ?? 0,
    latencyMs: num('--latency'),
    chunks: num('--chunks'),
    chunkDelayMs: num('--chunk-delay'),
  })
  console.log(`mock provider listening on ${mock.url}`)
  const shutdown = () => void mock.stop().then(() => process.exit(0))
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}
