/**
 * A number in the configuration is written in plain decimal digits. Number() and YAML read more than that:
 * `0x1F90` (8080), `1e3` (1000), `0o17` (15), `+80`, `.inf`, a leading zero (YAML 1.1 reads `010` as 8): a
 * setting written so was taken as whatever it came to, when it was far more likely a mistake (a value pasted from
 * elsewhere, an exponent meant as a literal). Each is now refused, naming the setting; a rate that takes a fraction
 * (a price, a threshold) takes one written plainly (0.25).
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config/load'
import { MASTER_KEY, tempDir } from './support/gateway'

const dir = tempDir('tollgate-config-numbers-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
const yaml = (text: string) => {
  const file = join(dir, `config-${++files}.yaml`)
  writeFileSync(file, text)
  return file
}

/** The message loadConfig refuses with, or null if it accepted the configuration. */
function refusal(env: Record<string, string>): string | null {
  try {
    loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, ...env })
    return null
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    return e.message
  }
}

const ODD_SPELLINGS = ['0x1F90', '1e3', '1E3', '0o17', '+80', '080', 'Infinity', '1_000', '0b101', '8080.0']

describe('a TOLLGATE_* number is refused unless written in decimal digits, naming the setting', () => {
  for (const [name, field] of [
    ['TOLLGATE_PORT', 'port'],
    ['TOLLGATE_RATE_LIMIT_PER_MIN', 'rate_limit_per_min'],
    ['TOLLGATE_UPSTREAM_TIMEOUT_MS', 'upstream_timeout_ms'],
    ['TOLLGATE_AUDIT_RETENTION_DAYS', 'audit_retention_days'],
    ['TOLLGATE_WORKERS', 'workers'],
  ] as const)
    for (const spelling of ODD_SPELLINGS)
      test(`${name}=${spelling}`, () => {
        const message = refusal({ [name]: spelling })
        expect(message).toContain(`${field} (${name}): `)
        expect(message).toContain('decimal digits')
      })

  test('plain digits are read as ever', () => {
    expect(loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_PORT: '8080', TOLLGATE_RATE_LIMIT_PER_MIN: '1000' })).toMatchObject({ port: 8080, rate_limit_per_min: 1000 })
  })
})

describe('a number in the config file is refused unless written in decimal digits, naming the setting', () => {
  for (const spelling of ['0x1F90', '1e3', '0o17', '+80', '080', '.inf', '0X10'])
    test(`port: ${spelling}`, () => {
      const message = refusal({ TOLLGATE_CONFIG: yaml(`port: ${spelling}\n`) })
      // `0X10` is no YAML number but text, refused as the environment's text is (the env name shown beside it).
      expect(message).toMatch(/port( \(TOLLGATE_PORT\))?: /)
      expect(message).toContain('decimal digits')
    })

  test('nested, in a flow sequence, in a block sequence and behind a tag, each named', () => {
    const message = refusal({
      TOLLGATE_CONFIG: yaml(
        [
          'rate_limit_per_min: 1e3 # a thousand',
          'alerts:',
          '  max_attempts: 0x0C',
          '  thresholds: [50, 0x50, 100]',
          'pricing:',
          '  "mock:m":',
          '    input_per_million: 2.5e0',
          '    output_per_million: !!float 1e1',
        ].join('\n'),
      ),
    })
    expect(message).toContain('rate_limit_per_min: ')
    expect(message).toContain('alerts.max_attempts: ')
    expect(message).toContain('alerts.thresholds.1: ')
    expect(message).toContain('pricing.mock:m.input_per_million: ')
    expect(message).toContain('pricing.mock:m.output_per_million: ')
    expect(message).not.toContain('alerts.thresholds.0')
  })

  test('an item of a block sequence, named by its index', () => {
    const message = refusal({ TOLLGATE_CONFIG: yaml(['alerts:', '  thresholds:', '    - 50', '    - 1e2', '    - 0x64'].join('\n')) })
    expect(message).toContain('alerts.thresholds.1: is written 1e2')
    expect(message).toContain('alerts.thresholds.2: is written 0x64')
    expect(message).not.toContain('alerts.thresholds.0')
  })

  test('plain integers and plain decimals where a rate takes them are read as ever', () => {
    const config = loadConfig({
      TOLLGATE_MASTER_KEY: MASTER_KEY,
      TOLLGATE_CONFIG: yaml(
        [
          'port: 8081',
          'rate_limit_per_min: 600',
          'alerts:',
          '  thresholds: [50, 66.5, 100]',
          '  max_attempts: 3',
          '  check_interval_ms: &every 30000 # an anchor',
          '  delivery_timeout_ms: *every',
          'providers:',
          '  mock: {type: openai, base_url: "http://127.0.0.1:9/v1"}',
          'pricing:',
          '  "mock:m": {input_per_million: 0.25, output_per_million: 2}',
        ].join('\n'),
      ),
    })
    expect(config.port).toBe(8081)
    expect(config.rate_limit_per_min).toBe(600)
    expect(config.alerts.thresholds).toEqual([50, 66.5, 100])
    expect(config.alerts).toMatchObject({ check_interval_ms: 30000, delivery_timeout_ms: 30000 })
    expect(config.pricing['mock:m']).toMatchObject({ input_per_million: 0.25, output_per_million: 2 })
  })
})
