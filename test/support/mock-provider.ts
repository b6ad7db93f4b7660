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
 * non-stream requests; 'no-usage' on a non-stream request omits the `usage` field. 'cut-body' sends the
 * answer's status, headers and first half of its body, then drops the connection (the client's read fails).
 * Tokens: prompt = ceil(UTF-8 bytes of message text (+ Anthropic `system`) / 4) + 3 per
 * message, never below `cachedTokens`; completion = words of the completion text (12 for
 * a tool call). Anthropic's input_tokens is that prompt count minus the cached tokens.
 *
 * The Responses API (`POST /v1/responses`, JSON and SSE, every event named and numbered as OpenAI
 * sends it) answers with a function call when offered a function tool and asked about the weather,
 * with a reasoning item first when `reasoning.effort` is set (`encrypted_content` when `include` asks),
 * `incomplete` when `max_output_tokens` cuts the text, and `failed` (with usage) under 'response-failed'.
 * Responses not sent with `store: false` are kept: `GET`/`DELETE /v1/responses/{id}`, `…/cancel`,
 * `…/input_items` and `previous_response_id` (whose context adds to the input tokens) see them.
 * `/v1/responses/input_tokens` and Anthropic's `/v1/messages/count_tokens` count as the answers do.
 * Anthropic `thinking` (enabled or adaptive) adds a signed thinking block; a changed signature, a tool loop's
 * last assistant turn without its thinking block, or a thinking budget to `claude-opus-4-7` is refused with a
 * 400 as Anthropic does.
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
  | 'response-failed'
  | 'cut-body'

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
  'malformed-sse', 'truncated-sse', 'no-usage', 'slow-stream', 'response-failed', 'cut-body',
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
  /** The id in a `/v1/responses/{id}…` path. */
  id?: string
  /** Responses kept by this mock (`store` not false), by id. */
  stored: Map<string, StoredResponse>
}

interface StoredResponse {
  response: Json
  input: Json[]
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
// OpenAI Responses API (`/v1/responses`): events named and numbered as OpenAI sends them

const REASONING_SUMMARY = 'Thinking about the answer.'

/** Input items as a list: a string is one user message. */
const inputItems = (input: unknown): Json[] =>
  typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : Array.isArray(input) ? input : []

/** The text an input item sends: message text, a tool call's arguments, a tool result. */
function itemText(item: Json): string {
  if (item?.type === 'function_call') return String(item.arguments ?? '')
  if (item?.type === 'function_call_output') return typeof item.output === 'string' ? item.output : textOf(item.output)
  return textOf(item?.content)
}

/** True when the request offers a function tool and the last input item is a user message mentioning the weather. */
function responsesWantsTool(body: Json): boolean {
  const tools: Json[] = Array.isArray(body.tools) ? body.tools : []
  const last = inputItems(body.input).at(-1)
  return tools.some((t) => t?.type === 'function') && (last?.type ?? 'message') === 'message' && last?.role === 'user' && /\bweather\b/i.test(itemText(last))
}

/** The function call a Responses answer makes, if any: the scripted one, else the weather tool. */
function responsesToolTurn(body: Json, opts: MockOptions): { name: string; args: string } | undefined {
  const scripted = opts.toolCall
  if (scripted && offersTool(body, scripted.name) && toolResults(body).length === 0) {
    return { name: scripted.name, args: JSON.stringify(scripted.input) }
  }
  if (!responsesWantsTool(body)) return undefined
  const fn = body.tools.find((t: Json) => t?.type === 'function')
  return { name: fn?.name ?? 'get_weather', args: TOOL_ARGS }
}

/**
 * Input tokens: ceil(bytes of instructions and item text / 4) + 3 per item, plus the whole context of
 * `previous_response_id` (its input and output), as OpenAI bills a chained response.
 */
function responsesInputTokens(body: Json, stored: Map<string, StoredResponse>): number {
  const items = inputItems(body.input)
  let n = bytes(typeof body.instructions === 'string' ? body.instructions : '')
  for (const item of items) n += bytes(itemText(item))
  const previous = typeof body.previous_response_id === 'string' ? stored.get(body.previous_response_id)?.response.usage : undefined
  return Math.ceil(n / 4) + 3 * items.length + (previous ? previous.input_tokens + previous.output_tokens : 0)
}

function responses(ctx: Ctx): Response {
  const { body, opts, behavior, stored } = ctx
  if (body.previous_response_id != null && !stored.has(body.previous_response_id)) {
    return json({ error: { message: `Previous response with id '${body.previous_response_id}' not found.`, type: 'invalid_request_error', param: 'previous_response_id', code: 'previous_response_not_found' } }, 400)
  }
  const id = `resp_mock${nextId()}`
  const createdAt = Math.floor(Date.now() / 1000)
  const failed = behavior === 'response-failed'
  const reasoning = typeof body.reasoning?.effort === 'string' && body.reasoning.effort !== 'none'
  const reasoningTok = reasoning ? wordsOf(REASONING_SUMMARY).length : 0
  const tool = responsesToolTurn(body, opts)
  const limit = typeof body.max_output_tokens === 'number' ? body.max_output_tokens - reasoningTok : undefined
  const answer = tool ? undefined : completion(answerOptions(body, opts), limit)
  const cached = opts.cachedTokens ?? 0
  const inputTok = Math.max(responsesInputTokens(body, stored), cached)
  const outputTok = reasoningTok + (answer ? answer.tokens : TOOL_COMPLETION_TOKENS)
  const status = failed ? 'failed' : answer?.truncated ? 'incomplete' : 'completed'
  // A failed response stopped half way: it reports (and totals) the output it made.
  const reportedOutput = failed ? reasoningTok + Math.ceil((answer?.tokens ?? TOOL_COMPLETION_TOKENS) / 2) : outputTok
  const usage = behavior === 'no-usage' ? undefined : {
    input_tokens: inputTok,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: reportedOutput,
    output_tokens_details: { reasoning_tokens: reasoningTok },
    total_tokens: inputTok + reportedOutput,
  }

  const reasoningItem: Json = {
    id: `rs_mock${nextId()}`, type: 'reasoning', summary: [{ type: 'summary_text', text: REASONING_SUMMARY }],
    ...(Array.isArray(body.include) && body.include.includes('reasoning.encrypted_content')
      ? { encrypted_content: `gAAAAB${Buffer.from(`mock reasoning for ${id}`).toString('base64')}` } : {}),
  }
  const messageItem: Json = {
    id: `msg_mock${nextId()}`, type: 'message', status: answer?.truncated ? 'incomplete' : 'completed', role: 'assistant',
    content: [{ type: 'output_text', annotations: [], logprobs: [], text: answer?.text ?? '' }],
  }
  const callItem: Json = {
    id: `fc_mock${nextId()}`, type: 'function_call', status: 'completed', arguments: tool?.args ?? '', call_id: `call_mock${nextId()}`, name: tool?.name ?? '',
  }
  const output = [...(reasoning ? [reasoningItem] : []), tool ? callItem : messageItem]
  const response = (state: string, out: Json[], u: unknown): Json => ({
    id, object: 'response', created_at: createdAt, status: state, background: false,
    error: state === 'failed' ? { code: 'server_error', message: 'The model failed to finish the response (mock).' } : null,
    incomplete_details: state === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null, max_output_tokens: body.max_output_tokens ?? null, max_tool_calls: null,
    model: body.model ?? 'mock-gpt', output: out, parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null, prompt_cache_key: body.prompt_cache_key ?? null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null }, safety_identifier: null,
    service_tier: 'default', store: body.store !== false, temperature: body.temperature ?? 1,
    text: { format: { type: 'text' }, verbosity: 'medium' }, tool_choice: body.tool_choice ?? 'auto', tools: body.tools ?? [],
    top_logprobs: 0, top_p: body.top_p ?? 1, truncation: 'disabled', usage: u ?? null, user: null, metadata: body.metadata ?? {},
  })
  const final = response(status, failed ? [] : output, usage)
  if (body.store !== false && !failed) stored.set(id, { response: final, input: inputItems(body.input) })

  if (body.stream !== true) return json(final)

  let seq = 0
  const event = (type: string, data: Json) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`
  const n = chunkCount(opts)
  const events = [
    event('response.created', { response: response('in_progress', [], null) }),
    event('response.in_progress', { response: response('in_progress', [], null) }),
  ]
  let index = 0
  if (reasoning) {
    const item_id = reasoningItem.id
    events.push(
      event('response.output_item.added', { output_index: index, item: { ...reasoningItem, summary: [], encrypted_content: undefined } }),
      event('response.reasoning_summary_part.added', { item_id, output_index: index, summary_index: 0, part: { type: 'summary_text', text: '' } }),
      ...split(REASONING_SUMMARY, 2).map((delta) => event('response.reasoning_summary_text.delta', { item_id, output_index: index, summary_index: 0, delta })),
      event('response.reasoning_summary_text.done', { item_id, output_index: index, summary_index: 0, text: REASONING_SUMMARY }),
      event('response.reasoning_summary_part.done', { item_id, output_index: index, summary_index: 0, part: { type: 'summary_text', text: REASONING_SUMMARY } }),
      event('response.output_item.done', { output_index: index, item: reasoningItem }),
    )
    index++
  }
  const contentStart = events.length + 2
  if (tool) {
    const item_id = callItem.id
    events.push(
      event('response.output_item.added', { output_index: index, item: { ...callItem, status: 'in_progress', arguments: '' } }),
      ...split(tool.args, n).map((delta) => event('response.function_call_arguments.delta', { item_id, output_index: index, delta })),
      event('response.function_call_arguments.done', { item_id, output_index: index, arguments: tool.args }),
      event('response.output_item.done', { output_index: index, item: callItem }),
    )
  } else {
    const item_id = messageItem.id
    const text = answer!.text
    const part = (t: string) => ({ type: 'output_text', annotations: [], logprobs: [], text: t })
    const pieces = split(text, n)
    events.push(
      event('response.output_item.added', { output_index: index, item: { ...messageItem, status: 'in_progress', content: [] } }),
      event('response.content_part.added', { item_id, output_index: index, content_index: 0, part: part('') }),
      ...(failed ? pieces.slice(0, Math.ceil(n / 2)) : pieces).map((delta) =>
        event('response.output_text.delta', { item_id, output_index: index, content_index: 0, delta, logprobs: [] })),
    )
    if (!failed) events.push(
      event('response.output_text.done', { item_id, output_index: index, content_index: 0, text, logprobs: [] }),
      event('response.content_part.done', { item_id, output_index: index, content_index: 0, part: part(text) }),
      event('response.output_item.done', { output_index: index, item: messageItem }),
    )
  }
  events.push(event(`response.${status}`, { response: final }))
  const garbage = ['event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":\n\n', 'this is not an sse line\n\n']
  return streamFor(ctx, events, contentStart, garbage)
}

const responseNotFound = (id: string | undefined) =>
  json({ error: { message: `Response with id '${id}' not found.`, type: 'invalid_request_error', param: null, code: null } }, 404)

function getResponse({ id, stored }: Ctx): Response {
  const found = stored.get(id ?? '')
  return found ? json(found.response) : responseNotFound(id)
}

function deleteResponse({ id, stored }: Ctx): Response {
  return stored.delete(id ?? '') ? json({ id, object: 'response', deleted: true }) : responseNotFound(id)
}

function cancelResponse({ id, stored }: Ctx): Response {
  if (!stored.has(id ?? '')) return responseNotFound(id)
  return json({ error: { message: 'Only responses created with background=true can be cancelled.', type: 'invalid_request_error', param: null, code: null } }, 400)
}

function responseInputItems({ id, stored }: Ctx): Response {
  const found = stored.get(id ?? '')
  if (!found) return responseNotFound(id)
  const data = found.input.map((item, i) => ({ id: item.id ?? `item_mock${i}`, ...item }))
  return json({ object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false })
}

function countResponseInputTokens(ctx: Ctx): Response {
  return json({ object: 'response.input_tokens', input_tokens: responsesInputTokens(ctx.body, ctx.stored) })
}

// ---------------------------------------------------------------------------
// Anthropic Messages API

const THINKING = 'Let me think about the weather.'
/** A signature only this mock issues for this thinking text: a changed block fails, as Anthropic's do. */
const signatureOf = (thinking: string) => `mocksig-${Bun.hash(thinking).toString(36)}`

const thinkingOn = (body: Json) => body.thinking?.type === 'enabled' || body.thinking?.type === 'adaptive'

/**
 * With thinking enabled (a budget: adaptive thinking may skip a turn), Anthropic requires the last assistant
 * turn of a tool loop to start with the thinking block it sent, signature intact; a thinking block whose signature does not match is refused.
 */
function thinkingProblem(body: Json): string | null {
  const list: Json[] = Array.isArray(body.messages) ? body.messages : []
  for (const [i, m] of list.entries()) {
    if (m?.role !== 'assistant' || !Array.isArray(m.content)) continue
    for (const [j, block] of m.content.entries())
      if (block?.type === 'thinking' && block.signature !== signatureOf(String(block.thinking)))
        return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`
  }
  const lastAssistant = list.findLastIndex((m) => m?.role === 'assistant')
  const turn = list[lastAssistant]
  if (body.thinking?.type === 'enabled' && Array.isArray(turn?.content) && turn.content.some((b: Json) => b?.type === 'tool_use')) {
    const first = turn.content[0]?.type
    if (first !== 'thinking' && first !== 'redacted_thinking')
      return `messages.${lastAssistant}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${first}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block.`
  }
  return null
}

/** Models that think only adaptively: a thinking budget is refused, as Claude Opus 4.7 refuses it. */
const ADAPTIVE_ONLY = /^claude-opus-4-7/

function messages(ctx: Ctx): Response {
  const { body, opts, behavior } = ctx
  if (typeof body.max_tokens !== 'number') return apiError('anthropic', 400, 'max_tokens: Field required')
  if (body.thinking?.type === 'enabled' && ADAPTIVE_ONLY.test(String(body.model)))
    return apiError('anthropic', 400, `"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.`)
  const problem = thinkingProblem(body)
  if (problem) return apiError('anthropic', 400, problem)

  const id = `msg_mock${nextId()}`
  const model = body.model ?? 'mock-claude'
  const cached = opts.cachedTokens ?? 0
  const inputTok = Math.max(0, promptTokens(body.messages, textOf(body.system)) - cached)
  const thinking = thinkingOn(body)
  const thinkingTok = thinking ? wordsOf(THINKING).length : 0
  const tool = toolTurn(body, opts)
  const answer = tool ? undefined : completion(answerOptions(body, opts), body.max_tokens - thinkingTok)
  const outputTok = thinkingTok + (answer ? answer.tokens : TOOL_COMPLETION_TOKENS)
  const stopReason = tool ? 'tool_use' : answer!.truncated ? 'max_tokens' : 'end_turn'
  const noUsage = behavior === 'no-usage'
  const usage = (output: number) => noUsage ? undefined : {
    input_tokens: inputTok, output_tokens: output,
    cache_read_input_tokens: cached, cache_creation_input_tokens: 0,
  }
  const thinkingBlock = { type: 'thinking', thinking: THINKING, signature: signatureOf(THINKING) }

  if (body.stream !== true) {
    const content = [
      ...(thinking ? [thinkingBlock] : []),
      tool ? { type: 'tool_use', id: 'toolu_1', name: tool.name, input: JSON.parse(tool.args) } : { type: 'text', text: answer!.text },
    ]
    return json({ id, type: 'message', role: 'assistant', model, content, stop_reason: stopReason, stop_sequence: null, usage: usage(outputTok) })
  }

  const event = (name: string, data: Json) => `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`
  const n = chunkCount(opts)
  const at = thinking ? 1 : 0
  const events = [
    event('message_start', { message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: usage(1) } }),
    event('ping', {}),
    ...(thinking
      ? [
        event('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
        event('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: THINKING } }),
        event('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: thinkingBlock.signature } }),
        event('content_block_stop', { index: 0 }),
      ]
      : []),
    tool
      ? event('content_block_start', { index: at, content_block: { type: 'tool_use', id: 'toolu_1', name: tool.name, input: {} } })
      : event('content_block_start', { index: at, content_block: { type: 'text', text: '' } }),
    ...(tool
      ? split(tool.args, n).map((p) => event('content_block_delta', { index: at, delta: { type: 'input_json_delta', partial_json: p } }))
      : split(answer!.text, n).map((t) => event('content_block_delta', { index: at, delta: { type: 'text_delta', text: t } }))),
    event('content_block_stop', { index: at }),
    event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: noUsage ? undefined : { output_tokens: outputTok } }),
    event('message_stop', {}),
  ]
  const garbage = ['event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{\n\n', 'this is not an sse line\n\n']
  return streamFor(ctx, events, thinking ? 7 : 3, garbage)
}

function countMessageTokens({ body }: Ctx): Response {
  return json({ input_tokens: promptTokens(body.messages, textOf(body.system)) })
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
  ['POST /v1/messages/count_tokens', { kind: 'json', handle: countMessageTokens }],
  ['POST /v1/responses', { kind: 'json', handle: responses }],
  ['POST /v1/responses/input_tokens', { kind: 'json', handle: countResponseInputTokens }],
])

/** `/v1/responses/{id}` and what hangs off it. */
const RESPONSE_ROUTES = new Map<string, { kind: BodyKind; handle: Handler }>([
  ['GET ', { kind: 'none', handle: getResponse }],
  ['DELETE ', { kind: 'none', handle: deleteResponse }],
  ['POST /cancel', { kind: 'none', handle: cancelResponse }],
  ['GET /input_items', { kind: 'none', handle: responseInputItems }],
])

function routeOf(method: string, path: string): { route: { kind: BodyKind; handle: Handler } | undefined; id?: string } {
  const exact = ROUTES.get(`${method} ${path}`)
  if (exact) return { route: exact }
  const m = /^\/v1\/responses\/([^/]+)(\/cancel|\/input_items)?$/.exec(path)
  return m ? { route: RESPONSE_ROUTES.get(`${method} ${m[2] ?? ''}`), id: decodeURIComponent(m[1]!) } : { route: undefined }
}

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

/** `answer` as far as the middle of its body; then the connection drops (Bun resets it when the body errors). */
async function cutHalfway(answer: Response): Promise<Response> {
  const full = new Uint8Array(await answer.arrayBuffer())
  let sent = false
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (!sent) {
        sent = true
        return c.enqueue(full.subarray(0, full.length >> 1))
      }
      // Long enough for the half to be written before the connection goes.
      await Bun.sleep(20)
      c.error()
    },
  })
  return new Response(body, { status: answer.status, headers: answer.headers })
}

export function startMockProvider(options: MockOptions = {}): MockProvider {
  const initial = { ...options }
  let pending: MockBehavior[] = []
  const stored = new Map<string, StoredResponse>()

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
      stored.clear()
    },
    stop: () => server.stop(true),
  }

  async function handle(req: Request): Promise<Response> {
    const path = pathOf(req.url)
    const { route, id } = routeOf(req.method, path)
    const api: Api = path.startsWith('/v1/messages') ? 'anthropic' : 'openai'
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
    const answer = route.handle({ body: (body ?? {}) as Json, behavior, opts, onAbort, id, stored })
    return behavior === 'cut-body' ? cutHalfway(answer) : answer
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
