import { unsupported } from './unsupported'

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

/** The client's last user or assistant turn (a tool result is the user's), and where the request holds its content. */
export interface ClientTurn {
  role: 'user' | 'assistant'
  where: string
}

/**
 * Refuses a conversation the client ended on the user's side that ends on an assistant turn once blank text is
 * left out ([question, "Paris.", "  "]): Anthropic would take that turn as a prefill and continue "Paris."
 * where OpenAI answers a new turn. Nothing sent in the blank turn's place would ask for what the client asked.
 */
export function refuseBlankFinalTurn(last: ClientTurn | undefined, messages: Turn[]): void {
  if (last?.role === 'user' && messages.at(-1)?.role === 'assistant')
    throw unsupported('Anthropic', last.where, 'a final user message of only blank text (left out, the conversation would end on the assistant message before it, which Anthropic continues instead of answering)')
}
