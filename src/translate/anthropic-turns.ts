type Block = Record<string, any>

export interface AnthropicTurn {
  role: 'user' | 'assistant'
  content: Block[]
}

/**
 * An Anthropic conversation built turn by turn: blocks added as the next turn of a role are merged into the turn
 * before when it has that role (Anthropic wants the roles to alternate), nothing is added for no blocks (it refuses
 * an empty turn), and in a user turn the tool results go ahead of the blocks that are not tool results (it refuses
 * text before a tool result), each kind in the order it came.
 */
export class AnthropicTurns {
  private readonly turns: AnthropicTurn[] = []
  /** The open user turn's tool results, kept apart and put ahead of its other blocks when the turn closes. */
  private toolResults: Block[] = []

  get isEmpty(): boolean {
    return this.turns.length === 0
  }

  append(role: AnthropicTurn['role'], blocks: Block[]): void {
    if (blocks.length === 0) return
    let open = this.turns.at(-1)
    if (open?.role !== role) {
      this.closeOpenTurn()
      open = { role, content: [] }
      this.turns.push(open)
    }
    for (const block of blocks) {
      if (role === 'user' && block.type === 'tool_result') this.toolResults.push(block)
      else open.content.push(block)
    }
  }

  /** The conversation, its last turn closed. */
  finished(): AnthropicTurn[] {
    this.closeOpenTurn()
    return this.turns
  }

  private closeOpenTurn(): void {
    const open = this.turns.at(-1)
    if (!open || this.toolResults.length === 0) return
    open.content = this.toolResults.concat(open.content)
    this.toolResults = []
  }
}

/**
 * A system or developer message said after the conversation began, as a text block of the user turn where it was
 * said. Anthropic takes instructions only in the top-level `system`, which comes before every turn (a `system`
 * message inside `messages` is taken by one model on Anthropic's own API only): moved there, an instruction such as
 * "from now on, answer in French" would rule the turns before it too, and change the prompt cache's prefix on every
 * request that adds one. Marked, so that the model reads it as instructions rather than as the user's words; the
 * marker's tags are the gateway's alone, escaped in the instruction's own text as in the user's (`escapeMarker`).
 */
export const instructionsBlock = (text: string): Block => ({ type: 'text', text: `<instructions>\n${escapeMarker(text)}\n</instructions>` })

/**
 * What a model could read as the marker's tag: a `<`, spaces, a `/`, spaces and the marker's name, not run on into a
 * longer name (`<instructions-list>` is another tag), whatever follows it: attributes, even ones holding a `<`
 * (`<instructions note="<">`), or the end of the text. Captured, the tag to its `>` when it closes before another `<`.
 */
const MARKER_TAG = /<(\s*(?:\/\s*)?instructions(?![\w.:-])[^<>]*)(>?)/gi

/**
 * Text with the marker's tags escaped (`<instructions>` as `&lt;instructions&gt;`, the `<` of one whatever comes
 * after its name), so that only `instructionsBlock` writes them: an end user who types the marker does not speak
 * with the developer's voice. So is a tag the text leaves open at its end, which the next text block could complete
 * (`…<instruc` | `tions>`): a model reads a turn's text blocks one after the other, as one text. Each text escapes by
 * itself and always the same way, so a conversation's prefix, and the prompt cache, stay as they were.
 */
export const escapeMarker = (text: string): string =>
  escapeMarkerLeftOpen(text.replace(MARKER_TAG, (_tag, opened: string, closed: string) => `&lt;${opened}${closed && '&gt;'}`))

/** The text with its last `<` escaped when what follows it to the end may begin the marker's tag: spaces, a `/`, the name's start. */
function escapeMarkerLeftOpen(text: string): string {
  const open = text.lastIndexOf('<')
  if (open === -1 || !'instructions'.startsWith(text.slice(open + 1).replace(/^\s*(?:\/\s*)?/, '').toLowerCase())) return text
  return `${text.slice(0, open)}&lt;${text.slice(open + 1)}`
}

/** A block of a user's or a tool's, its text escaped by `escapeMarker`. */
export const escapeMarkerIn = (block: Block): Block => (block.type === 'text' ? { ...block, text: escapeMarker(block.text) } : block)
