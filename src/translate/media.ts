/** Inline media: OpenAI carries it as a data URL, Anthropic as a base64 source with its media type. */

interface Base64Source {
  type: 'base64'
  media_type: string
  data: string
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s

export function base64SourceOf(url: string): Base64Source | null {
  const match = DATA_URL.exec(url)
  return match ? { type: 'base64', media_type: match[1]!, data: match[2]! } : null
}

export const dataUrlOf = (source: { media_type?: unknown; data?: unknown }): string =>
  `data:${String(source.media_type)};base64,${String(source.data)}`
