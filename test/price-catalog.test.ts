/** The catalog package mapped to price-book rows (the pinned @pydantic/genai-prices, its own data). */
import { describe, expect, test } from 'bun:test'
import { catalogEntry, catalogSource } from '../src/cli/price-catalog'

describe('price catalog', () => {
  test('a plain model: token rates, cache read, and web search per use', () => {
    const e = catalogEntry('openai', 'gpt-4o-mini', new Date('2026-12-01'))!
    expect(e.catalogModel).toBe('gpt-4o-mini')
    expect(e.rows).toEqual([
      { effectiveFrom: null, noPrice: false, fields: { input_per_million: 0.15, output_per_million: 0.6, cached_input_per_million: 0.075, server_tools: { web_search: 0.01 } }, unbillable: [] },
    ])
    // File search is priced per call by the catalog; left unpriced, a request using it is refused.
    expect(e.notes.some((n) => n.startsWith('storage_searches_kcount (file search) is not priced'))).toBe(true)
  })

  test('Anthropic: cache writes for 5 minutes and 1 hour', () => {
    const e = catalogEntry('anthropic', 'claude-sonnet-4-20250514', new Date('2026-12-01'))!
    expect(e.rows[0]!.fields).toMatchObject({ input_per_million: 3, output_per_million: 15, cached_input_per_million: 0.3, cache_write_per_million: 3.75, cache_write_1h_per_million: 6 })
  })

  test('a dated price change becomes a row from that date; after it, only the new price', () => {
    const before = catalogEntry('openai', 'gpt-5.6-luna', new Date('2026-07-01'))!
    expect(before.rows.map((r) => r.effectiveFrom)).toEqual([null, '2026-07-30'])
    // Tiered by prompt size at one threshold: the base rates, the upper tier as long_context past it.
    expect(before.rows[0]!.fields.input_per_million).toBe(1)
    expect(before.rows[1]!.fields.input_per_million).toBe(0.2)
    expect(before.rows[1]!.fields).toMatchObject({ service_tiers: { long_context: 2, long_context_output: 1.5 }, long_context_above_tokens: 271999 })
    expect(before.notes.some((n) => n.includes('tiered'))).toBe(true)
    const after = catalogEntry('openai', 'gpt-5.6-luna', new Date('2026-12-01'))!
    expect(after.rows).toHaveLength(1)
    expect(after.rows[0]!.fields.input_per_million).toBe(0.2)
  })

  describe('prompt-size tiers', () => {
    // The catalog's tier applies past its start, as long_context_above_tokens does: 271999 bills 272,000 tokens and up.
    test('GPT-5.4 (2× input and cache reads, 1.5× output past 272K): base rates, long_context, and the tier\'s start', () => {
      expect(catalogEntry('openai', 'gpt-5.4', new Date('2026-12-01'))!.rows[0]!.fields).toEqual({
        input_per_million: 2.5, output_per_million: 15, cached_input_per_million: 0.25, server_tools: { web_search: 0.01 },
        service_tiers: { long_context: 2, long_context_output: 1.5 }, long_context_above_tokens: 271999,
      })
      expect(catalogEntry('openai', 'gpt-5.5', new Date('2026-12-01'))!.rows[0]!.fields).toMatchObject({
        input_per_million: 5, output_per_million: 30, cached_input_per_million: 0.5, service_tiers: { long_context: 2, long_context_output: 1.5 }, long_context_above_tokens: 271999,
      })
    })

    test('Gemini 2.5 Pro past 200K; Claude Sonnet 4.5\'s 200K tier (cache writes too) as a threshold as well', () => {
      expect(catalogEntry('google', 'gemini-2.5-pro', new Date('2026-12-01'))!.rows[0]!.fields).toEqual({
        input_per_million: 1.25, output_per_million: 10, cached_input_per_million: 0.125,
        service_tiers: { long_context: 2, long_context_output: 1.5 }, long_context_above_tokens: 200000,
      })
      // Anthropic conditions it on context-1m, and refuses a longer prompt without it: the threshold bills the same.
      expect(catalogEntry('anthropic', 'claude-sonnet-4-5', new Date('2026-12-01'))!.rows[0]!.fields).toMatchObject({
        input_per_million: 3, output_per_million: 15, cached_input_per_million: 0.3, cache_write_per_million: 3.75, cache_write_1h_per_million: 6,
        service_tiers: { long_context: 2, long_context_output: 1.5 }, long_context_above_tokens: 200000,
      })
      // Claude Sonnet 4 is flat in the catalog.
      expect(catalogEntry('anthropic', 'claude-sonnet-4', new Date('2026-12-01'))!.rows[0]!.fields).not.toHaveProperty('long_context_above_tokens')
      // Opus 4.6 has the tier until its flat price of 2026-03-13: a context-1m request is priced by the row in force.
      const opus = catalogEntry('anthropic', 'claude-opus-4-6', new Date('2026-01-01'))!
      expect(opus.rows.map((r) => [r.effectiveFrom, r.fields.service_tiers ?? null, r.fields.long_context_above_tokens ?? null])).toEqual([
        [null, { long_context: 2, long_context_output: 1.5 }, 200000],
        ['2026-03-13', null, null],
      ])
    })

    test('tiers one threshold and one multiple per side cannot say (a flat cache rate beside tiered ones): the dearest tier', () => {
      const e = catalogEntry('openrouter', 'x-ai/grok-4-fast', new Date('2026-12-01'))!
      expect(e.rows[0]!.fields).toEqual({ input_per_million: 0.4, output_per_million: 1, cached_input_per_million: 0.05 })
      expect(e.notes).toContain('input_mtok is tiered by prompt size: the dearest tier is used')
    })
  })

  test('time-of-day prices: the dearest, since a request is priced before it is billed', () => {
    const e = catalogEntry('deepseek', 'deepseek-chat', new Date('2026-12-01'))
    expect(e).not.toBeNull()
    const off = e!.rows[0]!.fields
    expect(off.input_per_million).toBeGreaterThanOrEqual(0.27)
  })

  test('audio token rates', () => {
    const e = catalogEntry('openai', 'gpt-4o-mini-realtime-preview', new Date('2026-12-01'))!
    expect(e.rows[0]!.fields).toMatchObject({ audio_input_per_million: 10, audio_output_per_million: 20, cached_input_per_million: 0.3 })
    expect(e.rows[0]!.unbillable).toEqual([])
  })

  test('a per-request fee is the per-request price', () => {
    const e = catalogEntry('perplexity', 'sonar', new Date('2026-12-01'))!
    expect(e.rows[0]).toEqual({ effectiveFrom: null, noPrice: false, fields: { input_per_million: 1, output_per_million: 1, per_request: 0.012 }, unbillable: [] })
  })

  test('token kinds tollgate counts with others raise their rate where dearer: image output, cached audio', () => {
    // Image tokens come back among the output tokens: all output at the image rate, and the image rate a request for
    // image output needs (modalities with image) is the row's own.
    const image = catalogEntry('google', 'gemini-2.5-flash-image', new Date('2026-12-01'))!
    expect(image.rows[0]!.fields).toMatchObject({ input_per_million: 0.3, output_per_million: 30, image_output_per_million: 30 })
    expect(image.notes.some((n) => n.startsWith('output_image_mtok is dearer than output'))).toBe(true)
    // Cached audio is counted as cached input.
    const flash = catalogEntry('google', 'gemini-2.0-flash', new Date('2026-12-01'))!
    expect(flash.rows[0]!.fields).toMatchObject({ cached_input_per_million: 0.175, audio_input_per_million: 0.7 })
    // Cheaper reasoning and citation rates change nothing; the search price is per use.
    const research = catalogEntry('perplexity', 'sonar-deep-research', new Date('2026-12-01'))!
    expect(research.rows[0]).toEqual({ effectiveFrom: null, noPrice: false, fields: { input_per_million: 2, output_per_million: 8, server_tools: { web_search: 0.005 } }, unbillable: [] })
  })

  test('a model listed with no rate at all is no price, never a price of 0, and carries the catalog\'s comment', () => {
    const gone = catalogEntry('cerebras', 'qwen-3-coder-480b', new Date('2026-12-01'))!
    expect(gone.rows.map((r) => r.noPrice)).toEqual([true])
    expect(gone.comment).toContain('no longer available')
    // The catalog lists free models the same way: it cannot tell them apart, so neither does the entry.
    expect(catalogEntry('openrouter', 'meta-llama/llama-3.3-70b-instruct:free', new Date('2026-12-01'))!.rows[0]!.noPrice).toBe(true)
    expect(catalogEntry('openai', 'gpt-4o-mini', new Date('2026-12-01'))!.rows[0]!.noPrice).toBe(false)
  })

  test('a charge tollgate cannot bill (pages, hours of audio) is named with its price', () => {
    expect(catalogEntry('mistral', 'mistral-ocr-2505', new Date('2026-12-01'))!.rows[0]!.unbillable).toEqual(['input_document_kpages: 1', 'input_annotated_document_kpages: 3'])
    expect(catalogEntry('openai', 'whisper-1', new Date('2026-12-01'))!.rows[0]!.unbillable).toEqual(['audio_hours: 0.36', 'input_audio_hours: 0.36'])
  })

  test('an unknown model is null, and the source names the pinned package version', () => {
    expect(catalogEntry('openai', 'no-such-model-anywhere')).toBeNull()
    expect(catalogSource()).toMatch(/^@pydantic\/genai-prices@\d+\.\d+\.\d+$/)
  })
})
