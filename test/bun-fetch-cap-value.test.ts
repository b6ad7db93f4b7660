import { expect, test } from 'bun:test'
import { parseBunFetchCap } from '../src/providers/bun-fetch-cap'
import { effectiveUpstreamLimit } from '../src/providers/upstream-slots'

/**
 * Bun reads BUN_CONFIG_MAX_HTTP_REQUESTS as a strict integer from 1 to 65535; anything else ("100000", "300abc",
 * " 300") it refuses with an error on stderr and keeps its default cap of 256 (checked with the pinned bun 1.4.4).
 * `effectiveUpstreamLimit` must judge the cap Bun really has, or the limit stays above it and calls past 256 wait
 * in Bun's own queue after their holds were taken (the very thing the limit exists to prevent).
 */
test('a value Bun refuses leaves its cap at 256: the limit is lowered under it, with a warning', () => {
  for (const value of ['100000', '300abc', ' 4096', '65567']) {
    const got = effectiveUpstreamLimit(2048, { BUN_CONFIG_MAX_HTTP_REQUESTS: value })
    expect({ value, limit: got.limit, warned: got.warning !== undefined }).toEqual({ value, limit: 256 - 32, warned: true })
    expect(got.warning).toContain(`refused BUN_CONFIG_MAX_HTTP_REQUESTS=${JSON.stringify(value)}`)
  }
})

test('the cap is read as Bun reads it: digits, a leading + and _ between digits, from 1 to 65535', () => {
  const taken = { '4096': 4096, '+300': 300, '3_00': 300, '3__00': 300, '0300': 300, '1': 1, '65535': 65535 }
  const refused = ['', '0', '-0', '-300', '65536', '100000', '300abc', ' 4096', '4096 ', '3e2', '0x12c', '_300', '300_', '++300', '+_300']
  for (const [value, cap] of Object.entries(taken)) expect({ value, cap: parseBunFetchCap(value) }).toEqual({ value, cap })
  for (const value of refused) expect({ value, cap: parseBunFetchCap(value) }).toEqual({ value, cap: undefined })
})

test('the advice never names a value Bun cannot take: a limit above 65503 is advised down to fit 65535', () => {
  const underDefault = effectiveUpstreamLimit(65535, {})
  const advised = Number(/BUN_CONFIG_MAX_HTTP_REQUESTS=(\d+)/.exec(underDefault.warning ?? '')?.[1])
  expect(advised).toBeLessThanOrEqual(65535)
  expect(underDefault.warning).toContain('TOLLGATE_MAX_UPSTREAM_CONCURRENCY to 65503 or less')

  // At Bun's highest cap the limit is the most it makes room for, and only the limit is advised down.
  const atHighest = effectiveUpstreamLimit(70000, { BUN_CONFIG_MAX_HTTP_REQUESTS: '65535' })
  expect(atHighest.limit).toBe(65503)
  expect(atHighest.warning).not.toMatch(/BUN_CONFIG_MAX_HTTP_REQUESTS=\d/)
  expect(effectiveUpstreamLimit(65503, { BUN_CONFIG_MAX_HTTP_REQUESTS: '65535' })).toEqual({ limit: 65503, freeCalls: 32 })
})
