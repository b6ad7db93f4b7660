/**
 * Which tool call a chat stream's `tool_calls[]` delta belongs to. OpenAI numbers each call (`index`) and gives
 * its id only in its first delta. Gemini's OpenAI-compatible endpoint sends each call whole with an `id` of its own
 * and no `index`; Ollama, Grok and some vLLM builds number every call of a parallel batch `index: 0`, each with
 * its own id. So an id seen before is its call; an id other than the one its index's call has, or without an
 * index an id not seen before, opens a new call; a delta without an id continues the last call at its index
 * (without an index, the last call).
 */
export class ToolCallKeys {
  private readonly byId = new Map<string, string>()
  /** Calls that have an id: a new id at their index is another call. */
  private readonly withId = new Set<string>()
  /** The call each index last named. */
  private readonly atIndex = new Map<number, string>()
  private last: string | undefined

  keyOf(call: { index?: unknown; id?: unknown }): string {
    const id = typeof call.id === 'string' && call.id !== '' ? call.id : undefined
    const index = typeof call.index === 'number' ? call.index : undefined
    const key = (id === undefined ? undefined : this.byId.get(id)) ?? this.callAt(index, id)
    if (id !== undefined && !this.withId.has(key)) {
      this.byId.set(id, key)
      this.withId.add(key)
    }
    if (index !== undefined) this.atIndex.set(index, key)
    this.last = key
    return key
  }

  /** The call a delta with an id not seen before (or none) belongs to. */
  private callAt(index: number | undefined, id: string | undefined): string {
    const current = index === undefined ? undefined : this.atIndex.get(index)
    if (current !== undefined) return id !== undefined && this.withId.has(current) ? `id:${id}` : current
    if (index !== undefined) return String(index)
    return id !== undefined ? `id:${id}` : (this.last ?? '0')
  }
}
