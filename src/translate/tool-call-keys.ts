import { StreamedArguments } from './streamed-arguments'

/** A `tool_calls[]` delta of a chat stream, as far as telling its call goes. */
interface ToolCallDelta {
  index?: unknown
  id?: unknown
  function?: { name?: unknown; arguments?: unknown }
}

/**
 * Which tool call a chat stream's `tool_calls[]` delta belongs to. OpenAI numbers each call (`index`) and gives
 * its id only in its first delta. Gemini's OpenAI-compatible endpoint sends each call whole with an `id` of its own
 * and no `index`; Ollama, Grok and some vLLM builds number every call of a parallel batch `index: 0`, each with
 * its own id, name and whole arguments; Poolside changes the id within one call (its name under one id, its
 * argument fragments under another, all `index: 0`). So an id seen before is its call; at an index whose call has
 * an id and a name, a delta with another id opens a new call when it names a function too and that call's arguments
 * are a whole JSON value (Ollama's no-argument call says `"null"` or `"{}"`), else it is more of that
 * call (Poolside's fragments name no function); without an index, an id not seen before opens a new
 * call; a delta without an id continues the last call at its index (without an index, the last call).
 */
export class ToolCallKeys {
  private readonly byId = new Map<string, string>()
  /** Calls that have an id: another id at their index may be another call. */
  private readonly withId = new Set<string>()
  /** Calls whose function was named. */
  private readonly named = new Set<string>()
  /** The call each index last named. */
  private readonly atIndex = new Map<number, string>()
  /** Each call's argument text so far. */
  private readonly args = new Map<string, StreamedArguments>()
  private last: string | undefined

  keyOf(call: ToolCallDelta): string {
    const id = typeof call.id === 'string' && call.id !== '' ? call.id : undefined
    const index = typeof call.index === 'number' ? call.index : undefined
    const named = typeof call.function?.name === 'string' && call.function.name !== ''
    const key = (id === undefined ? undefined : this.byId.get(id)) ?? this.callAt(index, id, named)
    if (id !== undefined) {
      if (!this.byId.has(id)) this.byId.set(id, key) // a second id of one call names it too
      this.withId.add(key)
    }
    if (index !== undefined) this.atIndex.set(index, key)
    if (named) this.named.add(key)
    const args = call.function?.arguments
    if (typeof args === 'string' && args !== '') this.argumentsOf(key).append(args)
    this.last = key
    return key
  }

  /** The call a delta with an id not seen before (or none) belongs to. */
  private callAt(index: number | undefined, id: string | undefined, named: boolean): string {
    const current = index === undefined ? undefined : this.atIndex.get(index)
    if (current !== undefined) return id !== undefined && this.opensAnother(current, named) ? `id:${id}` : current
    if (index !== undefined) return String(index)
    return id !== undefined ? `id:${id}` : (this.last ?? '0')
  }

  /** Whether a new id at the index of `current` is another call rather than more of it. */
  private opensAnother(current: string, named: boolean): boolean {
    return this.withId.has(current) && this.named.has(current) && named && (this.args.get(current)?.isWholeValue() ?? false)
  }

  private argumentsOf(key: string): StreamedArguments {
    let args = this.args.get(key)
    if (!args) this.args.set(key, (args = new StreamedArguments()))
    return args
  }
}
