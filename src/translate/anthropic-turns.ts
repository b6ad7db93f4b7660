type Block = Record<string, any>

export interface AnthropicTurn {
  role: 'user' | 'assistant'
  content: Block[]
}

/**
 * Adds blocks to an Anthropic conversation as the next turn of `role`: merged into the turn before when it has that
 * role (Anthropic wants the roles to alternate), nothing for no blocks (it refuses an empty turn), and in a user turn
 * each tool result ahead of the blocks that are not tool results (it refuses text before a tool result), the tool
 * results in the order they came.
 */
export function appendTurn(messages: AnthropicTurn[], role: AnthropicTurn['role'], blocks: Block[]): void {
  if (blocks.length === 0) return
  const last = messages.at(-1)
  if (last?.role !== role) {
    messages.push({ role, content: blocks })
    return
  }
  for (const block of blocks) {
    // The turn keeps its tool results ahead of the rest, so a turn ending in a tool result has nothing to pass.
    const firstOther = block.type === 'tool_result' && last.content.at(-1)?.type !== 'tool_result' ? last.content.findIndex((b) => b.type !== 'tool_result') : -1
    if (firstOther === -1) last.content.push(block)
    else last.content.splice(firstOther, 0, block)
  }
}

/**
 * A system or developer message said after the conversation began, as a text block of the user turn where it was
 * said. Anthropic takes instructions only in the top-level `system`, which comes before every turn (a `system`
 * message inside `messages` is taken by one model on Anthropic's own API only): moved there, an instruction such as
 * "from now on, answer in French" would rule the turns before it too, and change the prompt cache's prefix on every
 * request that adds one. Marked, so that the model reads it as instructions rather than as the user's words.
 */
export const instructionsBlock = (text: string): Block => ({ type: 'text', text: `<instructions>\n${text}\n</instructions>` })
