import type { EmbeddedJson } from '../../http/json-body'

/**
 * Claude's thinking blocks travel in Responses `reasoning` items, whose `encrypted_content` clients send
 * back untouched on the next turn (Codex asks for it; the gateway always includes it). The block is
 * carried whole, signature included, so that the provider gets back exactly what it signed.
 */
const PREFIX = 'tollgate-anthropic-thinking.v1:'

type Json = Record<string, any>

export const carryThinking = (block: Json): string => PREFIX + Buffer.from(JSON.stringify(block), 'utf8').toString('base64')

/** Whether an input item is a reasoning item carrying Claude's thinking, as the gateway wrote it. */
const carriesThinking = (item: Json | null): boolean =>
  item?.type === 'reasoning' && typeof item.encrypted_content === 'string' && item.encrypted_content.startsWith(PREFIX)

/**
 * A request for a model other than Claude without the reasoning items that carry Claude's thinking: they mean
 * nothing to another model, and OpenAI refuses encrypted content it did not make (400 `invalid_encrypted_content`),
 * on every later request too, as the item stays in the client's history (Codex's `/model`, an Agents SDK handoff).
 * The same body when it has none.
 */
export function withoutCarriedThinking<B extends { input?: unknown }>(body: B): B {
  if (!Array.isArray(body.input) || !body.input.some(carriesThinking)) return body
  return { ...body, input: body.input.filter((item) => !carriesThinking(item)) }
}

/**
 * The thinking block a reasoning item carries; null for reasoning from elsewhere (another model's means nothing to
 * this one). The block goes into the body sent on, so it is held to the body's bounds, together with the body's other
 * such texts (`embedded`: 400 naming `where`).
 */
export function carriedThinking(encrypted: unknown, where: string, embedded: EmbeddedJson): Json | null {
  if (typeof encrypted !== 'string' || !encrypted.startsWith(PREFIX)) return null
  const text = Buffer.from(encrypted.slice(PREFIX.length), 'base64').toString('utf8')
  embedded.checkBounds(text, where)
  try {
    const block = JSON.parse(text)
    return block?.type === 'thinking' || block?.type === 'redacted_thinking' ? block : null
  } catch {
    return null
  }
}
