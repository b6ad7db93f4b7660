/** The catalog package mapped to price-book rows (the pinned @pydantic/genai-prices, its own data). */
import { describe, expect, test } from 'bun:test'
import { catalogEntry, catalogSource } from '../src/cli/price-catalog'

describe('price catalog', () => {
  test('a plain model: token rates, cache read, and web search per use', () => {
    const e = catalogEntry('openai', 'gpt-4o-mini', new Date('2026-12-01'))!
    expect(e.catalogModel).toBe('gpt-4o-mini')
    expect(e.rows).toEqual([
      { effectiveFrom: null, fields: { input_per_million: 0.15, output_per_million: 0.6, cached_input_per_million: 0.075, server_tools: { web_search: 0.01 } } },
    ])
  })

  test('Anthropic: cache writes for 5 minutes and 1 hour', () => {
    const e = catalogEntry('anthropic', 'claude-sonnet-4-20250514', new Date('2026-12-01'))!
    expect(e.rows[0]!.fields).toMatchObject({ input_per_million: 3, output_per_million: 15, cached_input_per_million: 0.3, cache_write_per_million: 3.75, cache_write_1h_per_million: 6 })
  })

  test('a dated price change becomes a row from that date; after it, only the new price', () => {
    const before = catalogEntry('openai', 'gpt-5.6-luna', new Date('2026-07-01'))!
    expect(before.rows.map((r) => r.effectiveFrom)).toEqual([null, '2026-07-30'])
    // Tiered by prompt size: the dearest tier, since the estimate does not know the tier.
    expect(before.rows[0]!.fields.input_per_million).toBe(2)
    expect(before.rows[1]!.fields.input_per_million).toBe(0.4)
    expect(before.notes.some((n) => n.includes('tiered'))).toBe(true)
    const after = catalogEntry('openai', 'gpt-5.6-luna', new Date('2026-12-01'))!
    expect(after.rows).toHaveLength(1)
    expect(after.rows[0]!.fields.input_per_million).toBe(0.4)
  })

  test('time-of-day prices: the dearest, since a request is priced before it is billed', () => {
    const e = catalogEntry('deepseek', 'deepseek-chat', new Date('2026-12-01'))
    expect(e).not.toBeNull()
    const off = e!.rows[0]!.fields
    expect(off.input_per_million).toBeGreaterThanOrEqual(0.27)
  })

  test('audio token rates, and what tollgate does not bill by is named', () => {
    const e = catalogEntry('openai', 'gpt-4o-mini-realtime-preview', new Date('2026-12-01'))!
    expect(e.rows[0]!.fields).toMatchObject({ audio_input_per_million: 10, audio_output_per_million: 20 })
    expect(e.notes).toContain('not billed by tollgate: cache_audio_read_mtok')
  })

  test('an unknown model is null, and the source names the pinned package version', () => {
    expect(catalogEntry('openai', 'no-such-model-anywhere')).toBeNull()
    expect(catalogSource()).toMatch(/^@pydantic\/genai-prices@\d+\.\d+\.\d+$/)
  })
})
