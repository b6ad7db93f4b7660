/**
 * Mutation guard: a catalog price finer than the price book's micro-USD is rounded UP, never down,
 * so a row written from the catalog never bills below the provider's price. OpenRouter lists Gemini 2.5 Flash
 * Lite's cache writes at $0.0833333…/M: the row must say 0.083334, not 0.083333.
 */
import { expect, test } from 'bun:test'
import { catalogEntry } from '../src/cli/price-catalog'

test('a catalog rate finer than a micro-USD is rounded up to the next micro-USD, never down', () => {
  const e = catalogEntry('openrouter', 'google/gemini-2.5-flash-lite', new Date('2026-12-01'))!
  const f = e.rows[0]!.fields
  expect(f.cache_write_per_million).toBe(0.083334)
  // Never below the catalog's own price.
  expect(f.cache_write_per_million! * 1e6).toBeGreaterThanOrEqual((1 / 12) * 1e6)
  expect(e.notes).toContain('cache_write_mtok is finer than a micro-USD: rounded up')
  // A price already whole in micro-USD is kept as it is (not pushed up a micro-USD).
  expect(catalogEntry('openrouter', 'qwen/qwen3.6-flash', new Date('2026-12-01'))!.rows[0]!.fields).toMatchObject({ input_per_million: 0.1875, cache_write_per_million: 0.234375 })
})
