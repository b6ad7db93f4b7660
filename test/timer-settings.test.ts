import { describe, expect, test } from 'bun:test'
import { configSchema } from '../src/config/schema'
import { MASTER_KEY } from './support/gateway'

/**
 * Timers cannot wait longer than 2^31 − 1 ms (~24.8 days): Bun (like Node) sets a longer delay to 1 ms,
 * with only a TimeoutOverflowWarning. An operator who writes a very long timeout to mean "never"
 * (3,000,000,000 ms ≈ 35 days) would get a gateway that aborts every provider call 1 ms after it starts
 * (each request a 504), a Postgres store whose every hold is a 503, or an alert loop spinning every
 * millisecond. Such a value stops startup, naming the field (SPEC §2).
 */
const HUGE = 3_000_000_000
const LONGEST = 2_147_483_647

const TOP_LEVEL = ['upstream_timeout_ms', 'upstream_idle_timeout_ms', 'database_timeout_ms', 'shutdown_grace_ms']
const ALERTS = ['check_interval_ms', 'unpriced_interval_ms', 'delivery_timeout_ms', 'retry_base_ms']

const parse = (settings: Record<string, unknown>) => configSchema.safeParse({ master_key: MASTER_KEY, ...settings })
const alerts = (field: string, value: number) => ({ alerts: { webhooks: { ops: { url: 'https://hooks.example/a', secret: 's'.repeat(32) } }, [field]: value } })

describe('a millisecond setting that ends up in a timer', () => {
  for (const field of TOP_LEVEL)
    test(`${field}: longer than a timer can wait is refused, naming it; the longest is taken`, () => {
      const refused = parse({ [field]: HUGE })
      expect(refused.success).toBe(false)
      expect(JSON.stringify(refused.error!.issues)).toContain(field)
      expect(JSON.stringify(refused.error!.issues)).toContain('the longest a timer can wait')
      expect(parse({ [field]: LONGEST }).success).toBe(true)
    })

  for (const field of ALERTS)
    test(`alerts.${field}: the same`, () => {
      const refused = parse(alerts(field, HUGE))
      expect(refused.success).toBe(false)
      expect(JSON.stringify(refused.error!.issues)).toContain(field)
      const taken = parse(alerts(field, LONGEST))
      if (!taken.success) throw new Error(JSON.stringify(taken.error.issues))
    })
})

test('rate_limit_per_min is at most 60,000,000 (the limiter counts in microseconds: a minute holds no more)', () => {
  expect(parse({ rate_limit_per_min: 60_000_000 }).success).toBe(true)
  const refused = parse({ rate_limit_per_min: 60_000_001 })
  expect(refused.success).toBe(false)
  expect(JSON.stringify(refused.error!.issues)).toContain('rate_limit_per_min')
})

test('reservation_ttl_sec: at most the longest upstream timeout rounded up to a second (2147484 s); longer is refused, naming it', () => {
  const refused = parse({ reservation_ttl_sec: 2_147_485 })
  expect(refused.success).toBe(false)
  expect(JSON.stringify(refused.error!.issues)).toContain('reservation_ttl_sec')
  expect(parse({ reservation_ttl_sec: 2_147_484 }).success).toBe(true)
})
