/**
 * Anthropic tools defined inside the conversation (the `inline-tools-…` beta): a `tool_addition` block whose `tool`
 * is `{type: "tool_definition", definition}` offers `definition` — the same object a `tools` entry holds — to the
 * model from that point on. It may stand in `system`, in any message's content, and in a `compaction` block's
 * `tool_changes` (the additions of the range it summarises, which still offer their tools).
 */
import { withFieldsLast } from '../translate/fields-last'

/** A tool definition as it goes upstream, given it as the client sent it and where it stands (`messages[0].content[1].tool.definition`). */
type InlineToolRewrite = (definition: unknown, field: string) => unknown

type Block = { type?: unknown; tool?: { type?: unknown; definition?: unknown } | null; tool_changes?: unknown } | null

/**
 * The body with each inline tool definition replaced by what `rewrite` returns for it, in the order they stand;
 * the same body (and the same arrays and blocks) wherever nothing changed.
 */
export function withInlineToolDefinitions(body: Record<string, unknown>, rewrite: InlineToolRewrite): Record<string, unknown> {
  const changed: Record<string, unknown> = {}
  if (Array.isArray(body.system)) {
    const system = blocksRewritten(body.system, 'system', rewrite)
    if (system !== body.system) changed.system = system
  }
  const messages: unknown = body.messages
  if (Array.isArray(messages)) {
    let rewritten: unknown[] | undefined
    messages.forEach((message, i) => {
      if (!Array.isArray(message?.content)) return
      const content = blocksRewritten(message.content, `messages[${i}].content`, rewrite)
      if (content !== message.content) (rewritten ??= messages.slice())[i] = withFieldsLast(message, { content })
    })
    if (rewritten) changed.messages = rewritten
  }
  return Object.keys(changed).length === 0 ? body : withFieldsLast(body, changed)
}

/**
 * Every tool a Messages body offers: its `tools`, then each inline definition in the order they stand (read by the
 * walk that rewrites them, so both see the same places).
 */
export function anthropicToolsOffered(body: Record<string, unknown>): unknown[] {
  const offered: unknown[] = Array.isArray(body.tools) ? body.tools.slice() : []
  withInlineToolDefinitions(body, (definition) => {
    offered.push(definition)
    return definition
  })
  return offered
}

function blocksRewritten(blocks: Block[], where: string, rewrite: InlineToolRewrite): Block[] {
  let changed: Block[] | undefined
  blocks.forEach((block, j) => {
    let next = block
    if (block?.type === 'tool_addition' && block.tool?.type === 'tool_definition') {
      const definition = rewrite(block.tool.definition, `${where}[${j}].tool.definition`)
      if (definition !== block.tool.definition) next = withFieldsLast(block, { tool: withFieldsLast(block.tool, { definition }) })
    } else if (block?.type === 'compaction' && Array.isArray(block.tool_changes)) {
      const toolChanges = blocksRewritten(block.tool_changes, `${where}[${j}].tool_changes`, rewrite)
      if (toolChanges !== block.tool_changes) next = withFieldsLast(block, { tool_changes: toolChanges })
    }
    if (next !== block) (changed ??= blocks.slice())[j] = next
  })
  return changed ?? blocks
}
