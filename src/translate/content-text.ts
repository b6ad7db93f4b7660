/**
 * The answer's text in a chat message's or delta's `content`: the string itself, or the `text` parts of an array
 * (Mistral's reasoning models answer `[{type: "thinking", thinking: […]}, {type: "text", text}]`). Thinking parts
 * are left out, as the translators leave out `reasoning_content`: unsigned reasoning has no block in the client's
 * format that it could send back.
 */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  let text = ''
  for (const part of content) if (part?.type === 'text' && typeof part.text === 'string') text += part.text
  return text
}
