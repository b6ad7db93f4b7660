type Turn = { role: 'user' | 'assistant'; content: Array<Record<string, any>> }

/**
 * Text Anthropic refuses as a text block: empty ("text content blocks must be non-empty") or only whitespace
 * ("… must contain non-whitespace text"). It asks the model for nothing, so a translation leaves it out.
 */
export const isBlank = (text: string): boolean => text.trim() === ''
