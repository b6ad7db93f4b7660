/**
 * Which tool call a chat stream's `tool_calls[]` delta belongs to. OpenAI numbers each call (`index`); Gemini's
 * OpenAI-compatible endpoint sends each call whole with an `id` of its own and no `index`. So without an index,
 * an id not seen before opens a new call, and a delta without an id continues the last call.
 */
export class ToolCallKeys {
  private readonly byId = new Map<string, string>()
  private last: string | undefined

  keyOf(call: { index?: unknown; id?: unknown }): string {
    const id = typeof call.id === 'string' && call.id !== '' ? call.id : undefined
    let key: string
    if (typeof call.index === 'number') key = String(call.index)
    else if (id !== undefined) key = this.byId.get(id) ?? `id:${id}`
    else key = this.last ?? '0'
    if (id !== undefined && !this.byId.has(id)) this.byId.set(id, key)
    this.last = key
    return key
  }
}
