import type { TokenCounts } from '../pricing/price'
import { anthropicUsage, reports, type AnthropicUsage } from './usage'

/**
 * Usage arrives in two halves: `message_start` carries the input side (plain, cache reads, cache
 * writes), `message_delta` the output count. Its counts are cumulative and may restate the input side:
 * they can grow what was stated before, never shrink it, so each count is the largest stated (SGLang sent
 * `input_tokens: 0` in `message_delta`, sgl-project/sglang#20830: the prompt must not go free; a second
 * `message_start`, a proxy replaying the message, shrinks nothing either).
 * Only both halves together are a usage: before the delta, the output is not known. The meter bills these counts,
 * and a stream translated for a chat or Responses client tells it them.
 */
export class AnthropicStreamUsage {
  private fields: AnthropicUsage = {}
  private hasInput = false
  private hasOutput = false

  /**
   * `message_start`'s input side. Its `output_tokens` (Anthropic states 1 before any output) is no count of
   * the answer: kept, a server whose `message_delta` counts 0 output beside the text would be billed 1 token.
   */
  start(u: AnthropicUsage | null | undefined): void {
    if (!u) return
    const { output_tokens: _beforeAnyOutput, ...inputSide } = u
    this.merge(inputSide)
    if (typeof u.input_tokens === 'number') this.hasInput = true
  }

  delta(u: AnthropicUsage | null | undefined): void {
    if (!u) return
    this.merge(u)
    if (typeof u.input_tokens === 'number') this.hasInput = true
    if (typeof u.output_tokens === 'number') this.hasOutput = true
  }

  private merge(u: AnthropicUsage): void {
    const fields = this.fields as Record<string, unknown>
    for (const key of ['input_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens', 'output_tokens'] as const)
      fields[key] = larger(fields[key], u[key])
    // The cache writes' split and the server tool uses are counts too, each the largest stated. Only
    // message_start splits the writes: the writes a message_delta's total adds past that split (a server tool
    // loop's later passes) stay unsplit, billed at the request's longest lifetime.
    for (const key of ['cache_creation', 'server_tool_use'] as const) {
      const stated = u[key]
      if (!stated || typeof stated !== 'object') continue
      const before = fields[key]
      const held: Record<string, unknown> = before && typeof before === 'object' ? { ...before } : {}
      for (const [name, n] of Object.entries(stated)) held[name] = larger(held[name], n)
      fields[key] = held
    }
    // The speed, the tier, the geography and the iterations are billed too: the last statement of each wins.
    for (const key of ['speed', 'service_tier', 'inference_geo', 'iterations'] as const) if (u[key] != null) fields[key] = u[key]
  }

  get counts(): TokenCounts | null {
    return this.hasInput && this.hasOutput ? anthropicUsage(this.fields) : null
  }

  /**
   * The input side stated so far (`message_start`'s, before any output is counted), as counts of no output; null
   * when none is stated, or only 0 (a compatible server that counts at the end states 0 before it).
   */
  get input(): TokenCounts | null {
    const counts = this.hasInput ? anthropicUsage({ ...this.fields, output_tokens: 0 }) : null
    if (!counts || counts.promptTokens === 0) return null
    // The uses are the meter's to count, from the blocks shown.
    const { serverToolUses: _, ...input } = counts
    return input
  }

  /** The largest output count a `message_delta` has stated, if any has. */
  get output(): number | undefined {
    return this.fields.output_tokens ?? undefined
  }
}

/**
 * The larger of a count held and one stated; a count not stated leaves the one held. One that is no count (negative,
 * infinite, a string) is kept, whatever is stated beside it, before or after: it makes the
 * usage no usage (`anthropicUsage`), where a later count would bill the prompt short, or free.
 */
const larger = (held: unknown, stated: unknown): unknown =>
  stated == null || !isCount(held) ? held : held === undefined || !isCount(stated) ? stated : Math.max(held, stated)

/** A count as a usage states it, or nothing stated yet. */
const isCount = (n: unknown): n is number | undefined => n === undefined || reports(n)
