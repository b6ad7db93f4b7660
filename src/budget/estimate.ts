/**
 * The worst-case token counts of a request, before it is sent. Input: a token is at least one byte,
 * so the UTF-8 length of every string the request sends bounds its text; each message adds a fixed
 * overhead (role and separators); each image, audio or file part counts a configured bound instead of
 * its bytes. Output: the request's own maximum, or the configured default.
 */
export interface EstimateOptions {
  defaultMaxOutputTokens: number
  mediaPartTokens: number
}

export interface TokenEstimate {
  inputTokens: number
  outputTokens: number
}

export const PER_MESSAGE_OVERHEAD = 8
const MEDIA_PART_TYPES = new Set(['image_url', 'image', 'input_audio', 'audio', 'file', 'document', 'input_image', 'input_file'])

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8')

/** Bytes of every string in a value (keys included: tool schemas are sent to the model as text). */
export function textBytes(value: unknown): number {
  if (typeof value === 'string') return utf8(value)
  if (typeof value === 'number' || typeof value === 'boolean') return 8
  if (Array.isArray(value)) {
    let n = 0
    for (const v of value) n += textBytes(v)
    return n
  }
  if (value && typeof value === 'object') {
    let n = 0
    for (const k in value) n += utf8(k) + textBytes((value as Record<string, unknown>)[k])
    return n
  }
  return 0
}

/** A message's content: a string, or parts of which the media ones count the fixed bound. */
export function contentTokens(content: unknown, mediaPartTokens: number): number {
  if (typeof content === 'string') return utf8(content)
  if (!Array.isArray(content)) return textBytes(content)
  let n = 0
  for (const part of content) {
    const type = (part as { type?: unknown } | null)?.type
    n += typeof type === 'string' && MEDIA_PART_TYPES.has(type) ? mediaPartTokens : textBytes(part)
  }
  return n
}

/** Output bound shared by both wire formats: the request's max, times the number of choices. */
export function outputBound(max: unknown, choices: unknown, defaultMax: number): number {
  const perChoice = typeof max === 'number' && Number.isFinite(max) && max > 0 ? Math.ceil(max) : defaultMax
  const n = typeof choices === 'number' && Number.isInteger(choices) && choices > 1 ? choices : 1
  return perChoice * n
}

const CHAT_TEXT_FIELDS = ['tools', 'functions', 'response_format', 'tool_choice', 'prediction'] as const

/** OpenAI Chat Completions. */
export function estimateChat(body: Record<string, unknown>, o: EstimateOptions): TokenEstimate {
  let input = 0
  const messages = Array.isArray(body.messages) ? body.messages : []
  for (const m of messages) {
    const { content, ...rest } = (m ?? {}) as Record<string, unknown>
    input += PER_MESSAGE_OVERHEAD + contentTokens(content, o.mediaPartTokens) + textBytes(rest)
  }
  for (const field of CHAT_TEXT_FIELDS) if (body[field] !== undefined) input += textBytes(body[field])
  return {
    inputTokens: input,
    outputTokens: outputBound(body.max_completion_tokens ?? body.max_tokens, body.n, o.defaultMaxOutputTokens),
  }
}

/**
 * OpenAI Embeddings: input only. A string counts its UTF-8 bytes; a token array is already tokens and
 * counts one per entry. Nothing is generated.
 */
export function estimateEmbeddings(body: Record<string, unknown>): TokenEstimate {
  return { inputTokens: embeddingInputTokens(body.input), outputTokens: 0 }
}

function embeddingInputTokens(input: unknown): number {
  if (typeof input === 'string') return utf8(input)
  if (typeof input === 'number') return 1
  if (!Array.isArray(input)) return 0
  let n = 0
  for (const item of input) n += embeddingInputTokens(item)
  return n
}

/** Moderation and audio are priced per request: the hold is that price and no tokens. */
export const perRequestEstimate = (): TokenEstimate => ({ inputTokens: 0, outputTokens: 0 })

/**
 * An Anthropic content block. Images and binary documents count the media bound; a plain-text document
 * counts its text; a tool result or a document made of blocks counts its blocks the same way.
 */
function anthropicBlockTokens(block: unknown, mediaPartTokens: number): number {
  if (!block || typeof block !== 'object') return textBytes(block)
  const { type, source, content, ...rest } = block as Record<string, unknown>
  const src = (source ?? {}) as Record<string, unknown>
  if (type === 'image') return mediaPartTokens
  if (type === 'document') {
    if (src.type === 'text') return textBytes(src.data) + textBytes(rest)
    if (src.type === 'content') return anthropicContentTokens(src.content, mediaPartTokens) + textBytes(rest)
    return mediaPartTokens
  }
  return textBytes(type) + textBytes(source) + anthropicContentTokens(content, mediaPartTokens) + textBytes(rest)
}

function anthropicContentTokens(content: unknown, mediaPartTokens: number): number {
  if (!Array.isArray(content)) return textBytes(content)
  let n = 0
  for (const block of content) n += anthropicBlockTokens(block, mediaPartTokens)
  return n
}

const MESSAGES_TEXT_FIELDS = ['tools', 'tool_choice', 'output_format', 'output_config'] as const

/** Anthropic Messages: `system`, every message's blocks, tool definitions; output is the required `max_tokens`. */
export function estimateMessages(body: Record<string, unknown>, o: EstimateOptions): TokenEstimate {
  let input = anthropicContentTokens(body.system, o.mediaPartTokens)
  const messages = Array.isArray(body.messages) ? body.messages : []
  for (const m of messages) {
    const { content, ...rest } = (m ?? {}) as Record<string, unknown>
    input += PER_MESSAGE_OVERHEAD + anthropicContentTokens(content, o.mediaPartTokens) + textBytes(rest)
  }
  for (const field of MESSAGES_TEXT_FIELDS) if (body[field] !== undefined) input += textBytes(body[field])
  return { inputTokens: input, outputTokens: outputBound(body.max_tokens, 1, o.defaultMaxOutputTokens) }
}
