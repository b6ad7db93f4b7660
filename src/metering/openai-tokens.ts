/**
 * Token counts of a chat request as OpenAI's current models read it, for `count_tokens` on a model served
 * by an OpenAI-compatible provider (which has no counting endpoint). The o200k_base encoding is that of
 * GPT-4o, GPT-4.1, GPT-5 and the o-series; for other models behind an OpenAI-compatible server (Llama,
 * Qwen, Mistral…) it is an approximation, as every tokenizer but the model's own is. Each message adds
 * OpenAI's documented overhead (3 tokens, and 3 more priming the reply); an image part counts what OpenAI
 * charges for a 1024×1024 image at high detail; tool definitions count as their JSON.
 */
const PER_MESSAGE = 3
const REPLY_PRIMING = 3
export const IMAGE_TOKENS = 765

type Json = Record<string, any>

/** The encoding's tables (several MB) load on the first count, not at startup. */
let encoder: Promise<(text: string) => number> | undefined
const tokenizer = () => (encoder ??= import('gpt-tokenizer/encoding/o200k_base').then((m) => (text: string) => m.countTokens(text)))

export async function countChatTokens(chat: Json): Promise<number> {
  const count = await tokenizer()
  let n = REPLY_PRIMING
  for (const m of Array.isArray(chat.messages) ? (chat.messages as Json[]) : []) {
    n += PER_MESSAGE + count(String(m.role ?? ''))
    n += contentTokens(m.content, count)
    if (Array.isArray(m.tool_calls)) n += count(JSON.stringify(m.tool_calls))
    if (typeof m.tool_call_id === 'string') n += count(m.tool_call_id)
  }
  if (Array.isArray(chat.tools)) n += count(JSON.stringify(chat.tools))
  if (chat.response_format) n += count(JSON.stringify(chat.response_format))
  return n
}

function contentTokens(content: unknown, count: (text: string) => number): number {
  if (typeof content === 'string') return count(content)
  if (!Array.isArray(content)) return 0
  let n = 0
  for (const part of content as Json[]) {
    if (part?.type === 'text') n += count(String(part.text ?? ''))
    else if (part?.type === 'image_url') n += IMAGE_TOKENS
    else n += count(JSON.stringify(part))
  }
  return n
}
