type Turn = { role: 'user' | 'assistant'; content: Array<Record<string, any>> }

/**
 * Text Anthropic refuses as a text block: empty ("text content blocks must be non-empty") or only whitespace
 * ("… must contain non-whitespace text"). It asks the model for nothing, so a translation leaves it out.
 */
export const isBlank = (text: string): boolean => text.trim() === ''

/**
 * A conversation that ends with an assistant turn is a prefill, and Anthropic refuses one whose text ends in
 * whitespace (400 "final assistant content cannot end with trailing whitespace"), where OpenAI takes it
 * ("Here it is:\n"); the whitespace tells the model nothing. Trimmed in place; with blank text left out
 * before, the block keeps some text.
 */
export function trimFinalAssistantText(messages: Turn[]): void {
  const final = messages.at(-1)
  const block = final?.role === 'assistant' ? final.content.at(-1) : undefined
  if (block?.type === 'text' && typeof block.text === 'string') block.text = block.text.trimEnd()
}
