/**
 * Mutation guard: a limit, a timer or a TTL given as 0 or a negative number is an
 * invalid value (SPEC §2: it stops startup naming the field), never taken. A careless refactor of the schema's
 * number helpers (`positiveInt`, `timerMs`, the reservation TTL, the rate limit, `nonNegativeInt`) would accept
 * them: `TOLLGATE_RESERVATION_TTL_SEC=0` has the sweeper settle every hold at its full amount at once,
 * `TOLLGATE_DEFAULT_MAX_OUTPUT_TOKENS=0` holds nothing for a request's output, `TOLLGATE_MAX_BODY_BYTES=0`
 * refuses every body, `TOLLGATE_AUDIT_RETENTION_DAYS=-1` prunes every request record.
 */
import { describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../src/config/load'
import { MASTER_KEY } from './support/gateway'

function refusal(env: Record<string, string>): string | null {
  try {
    loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, ...env })
    return null
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    return e.message
  }
}

/** Every setting the README's table gives a number that must be at least 1 (a count, a size, a timer, a TTL). */
const AT_LEAST_ONE = [
  'max_body_bytes', 'body_read_budget_bytes', 'default_max_output_tokens', 'clamp_output_floor_tokens', 'media_part_tokens',
  'pdf_page_tokens', 'pdf_max_pages', 'server_tool_default_max_uses', 'max_upstream_concurrency',
  'console_session_idle_min', 'console_session_max_hours', 'console_sign_ins_per_min',
  'database_timeout_ms', 'upstream_timeout_ms', 'upstream_idle_timeout_ms', 'shutdown_grace_ms',
  'reservation_ttl_sec', 'rate_limit_per_min',
] as const

describe('0 and negative numbers are refused, naming the setting', () => {
  for (const setting of AT_LEAST_ONE)
    test(setting, () => {
      const name = `TOLLGATE_${setting.toUpperCase()}`
      for (const value of ['0', '-1']) {
        const message = refusal({ [name]: value })
        expect({ name, value, refused: message?.includes(`${setting} (${name}):`) ?? false }).toEqual({ name, value, refused: true })
      }
      // The smallest valid value is taken: the refusal is about the range, not the setting.
      expect({ name, one: refusal({ [name]: '1' }) }).toEqual({ name, one: null })
    })

  test('a day count that may be 0 (audit retention, server tool allowance, template allowance, cache TTL) is never negative', () => {
    for (const setting of ['audit_retention_days', 'server_tool_use_input_tokens', 'template_overhead_tokens', 'cache_ttl_ms']) {
      const name = `TOLLGATE_${setting.toUpperCase()}`
      expect({ name, zero: refusal({ [name]: '0' }) }).toEqual({ name, zero: null })
      expect({ name, refused: refusal({ [name]: '-1' })?.includes(`${setting} (${name}):`) ?? false }).toEqual({ name, refused: true })
    }
  })
})
