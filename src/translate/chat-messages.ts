type Json = Record<string, any>

/** What a tool gave back, as chat can carry it: the text of its `tool` message, and its images and files as parts. */
export interface ChatToolOutput {
  text: string
  media: Json[]
}

/** A tool output's chat parts apart: text parts joined for the `tool` message, every other part kept as media. */
export function chatToolOutput(parts: Json[]): ChatToolOutput {
  const text: string[] = []
  const media: Json[] = []
  for (const part of parts) {
    if (part.type === 'text') text.push(String(part.text ?? ''))
    else media.push(part)
  }
  return { text: text.join('\n'), media }
}

/**
 * The messages of a chat request as a translation builds them. A chat `tool` message takes only text, while an
 * Anthropic tool result or a Responses function output may hold images and files (Claude Code reading a picture,
 * Codex's view_image): those go in a user message right after the run of tool messages (chat wants a turn's
 * tool messages together, straight after the calls), each tool's after a line naming its call, so the model can
 * tell whose they are. A user message that follows the run takes them at its start instead of coming second.
 */
export class ChatMessages {
  readonly list: Json[] = []
  /** Media of the current run of tool messages, waiting for its end. */
  private media: Json[] = []

  get last(): Json | undefined {
    return this.list.at(-1)
  }

  push(message: Json): void {
    if (message.role !== 'tool' && this.media.length > 0) {
      if (message.role === 'user') {
        const own = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content
        message = { ...message, content: [...this.takeMedia(), ...own] }
      } else this.list.push({ role: 'user', content: this.takeMedia() })
    }
    this.list.push(message)
  }

  pushToolResult(callId: string, output: ChatToolOutput): void {
    if (output.media.length === 0) return this.push({ role: 'tool', tool_call_id: callId, content: output.text })
    const pointer = '[The images and files of this result follow in the next user message.]'
    this.push({ role: 'tool', tool_call_id: callId, content: output.text ? `${output.text}\n${pointer}` : pointer })
    this.media.push({ type: 'text', text: `Images and files from the result of tool call ${callId}:` })
    // One by one: spread as arguments, a client's hundreds of thousands of parts overflow the stack.
    for (const part of output.media) this.media.push(part)
  }

  /** The messages, media still waiting placed after the last run of tool messages. */
  done(): Json[] {
    if (this.media.length > 0) this.list.push({ role: 'user', content: this.takeMedia() })
    return this.list
  }

  private takeMedia(): Json[] {
    const media = this.media
    this.media = []
    return media
  }
}
