/**
 * Claude's thinking blocks travel in Responses `reasoning` items, whose `encrypted_content` clients send
 * back untouched on the next turn (Codex asks for it; the gateway always includes it). The block is
 * carried whole, signature included, so that the provider gets back exactly what it signed.
 */
const PREFIX = 'tollgate-anthropic-thinking.v1:'

type Json = Record<string, any>

export const carryThinking = (block: Json): string => PREFIX + Buffer.from(JSON.stringify(block), 'utf8').toString('base64')

/** The thinking block a reasoning item carries; null for reasoning from elsewhere (another model's means nothing to this one). */
export function carriedThinking(encrypted: unknown): Json | null {
  if (typeof encrypted !== 'string' || !encrypted.startsWith(PREFIX)) return null
  try {
    const block = JSON.parse(Buffer.from(encrypted.slice(PREFIX.length), 'base64').toString('utf8'))
    return block?.type === 'thinking' || block?.type === 'redacted_thinking' ? block : null
  } catch {
    return null
  }
}
