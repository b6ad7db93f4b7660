/**
 * SPEC §2: "an invalid value stops startup with exit code 1 and a message that names the field". An empty
 * value is invalid (not 0, not the default), and so is a key or a TOLLGATE_* variable the schema does not
 * know: a typo must not silently leave the gateway without providers or without a rate limit.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config/load'
import { MASTER_KEY, runGatewayExpectingExit, tempDir } from './support/gateway'

const dir = tempDir('tollgate-config-strict-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const yaml = (name: string, text: string) => {
  const file = join(dir, name)
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

describe('an empty value is an error naming the field, never 0', () => {
  for (const [name, field] of [
    ['TOLLGATE_PORT', 'port'],
    ['TOLLGATE_AUDIT_RETENTION_DAYS', 'audit_retention_days'],
    ['TOLLGATE_CACHE_TTL_MS', 'cache_ttl_ms'],
    ['TOLLGATE_RATE_LIMIT_PER_MIN', 'rate_limit_per_min'],
    ['TOLLGATE_MAX_BODY_BYTES', 'max_body_bytes'],
    ['TOLLGATE_TRUST_PROXY', 'trust_proxy'],
    ['TOLLGATE_REQUIRE_PRICING', 'require_pricing'],
    ['TOLLGATE_LOG_LEVEL', 'log_level'],
    ['TOLLGATE_PDF_PAGE_TOKENS', 'pdf_page_tokens'],
    ['TOLLGATE_PDF_MAX_PAGES', 'pdf_max_pages'],
  ] as const)
    test(`${name}=""`, () => {
      for (const value of ['', '  ']) {
        const message = refusal({ [name]: value })
        expect({ name, value, message }).toEqual({ name, value, message: expect.stringContaining(`${field} (${name}): is empty`) })
      }
    })

  test('a numeric key left without a value in the file (YAML null) is refused too', () => {
    const file = yaml('null-days.yaml', 'audit_retention_days:\ncache_ttl_ms: ""\n')
    const message = refusal({ TOLLGATE_CONFIG: file }) ?? ''
    expect(message).toContain('audit_retention_days')
    expect(message).toContain('cache_ttl_ms')
  })

  test('an empty list of CORS origins means none: CORS stays off', () => {
    expect(loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_CORS_ALLOWED_ORIGINS: '' }).cors_allowed_origins).toEqual([])
  })

  test('explicit values still parse: 0 days keeps audit rows forever, 0 ms disables the caches, port 0 asks for a free port', () => {
    const c = loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_AUDIT_RETENTION_DAYS: '0', TOLLGATE_CACHE_TTL_MS: '0', TOLLGATE_PORT: ' 0 ' })
    expect([c.audit_retention_days, c.cache_ttl_ms, c.port]).toEqual([0, 0, 0])
    expect(refusal({ TOLLGATE_PORT: '1.5' })).toContain('port (TOLLGATE_PORT): must be a whole number')
    expect(refusal({ TOLLGATE_PORT: '65536' })).toContain('port (TOLLGATE_PORT)')
  })

  test('a real start with TOLLGATE_PORT="" exits 1 naming port, instead of listening on a random port', async () => {
    const { code, output } = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_PORT: '' })
    expect(code).toBe(1)
    expect(output).not.toContain('listening on')
    expect(output).toContain('[tollgate] refusing to start')
    expect(output).toContain('port (TOLLGATE_PORT): is empty')
  })
})

describe('an unknown key stops startup, naming it', () => {
  test('in the file: a misspelt section, a misspelt setting, a misspelt provider or price field', () => {
    const file = yaml(
      'typos.yaml',
      [
        'provider:',
        '  openai: {type: openai, base_url: "https://api.openai.com/v1"}',
        'rate_limit_per_minute: 10',
        'providers:',
        '  acme:',
        '    type: openai',
        '    base_url: https://acme.example/v1',
        '    apikey: k',
        'pricing:',
        '  "acme:m": {input_per_million: 1, ouput_per_million: 2}',
        '',
      ].join('\n'),
    )
    const message = refusal({ TOLLGATE_CONFIG: file }) ?? ''
    for (const name of ['provider:', 'rate_limit_per_minute:', 'providers.acme.apikey:', 'pricing.acme:m.ouput_per_million:'])
      expect({ name, found: message.includes(name) }).toEqual({ name, found: true })
  })

  test('in the environment: TOLLGATE_RATE_LIMIT (for TOLLGATE_RATE_LIMIT_PER_MIN) is refused', () => {
    expect(refusal({ TOLLGATE_RATE_LIMIT: '10' })).toContain('TOLLGATE_RATE_LIMIT: is not a tollgate setting')
  })

  test('a TOLLGATE_* variable the file reads with ${VAR}, TOLLGATE_CONFIG and the CI switch are not settings but are allowed', () => {
    const file = yaml('reads-var.yaml', 'providers:\n  acme:\n    type: openai\n    base_url: https://acme.example/v1\n    api_key: ${TOLLGATE_ACME_KEY}\n')
    const c = loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_CONFIG: file, TOLLGATE_ACME_KEY: 'sk-acme-0123456789', TOLLGATE_SKIP_CONTAINER_CHECK: '1' })
    expect(c.providers.acme?.api_key).toBe('sk-acme-0123456789')
    // The same variable, not read by any file, is a typo as far as the gateway can tell.
    expect(refusal({ TOLLGATE_ACME_KEY: 'x' })).toContain('TOLLGATE_ACME_KEY: is not a tollgate setting')
  })

  test('a real start with `provider:` in the file exits 1 naming it, instead of starting with no providers', async () => {
    const file = yaml('provider-typo.yaml', 'provider:\n  openai: {type: openai, base_url: "https://api.openai.com/v1"}\n')
    const { code, output } = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_CONFIG: file })
    expect(code).toBe(1)
    expect(output).not.toContain('listening on')
    expect(output).toContain('provider: is not a known setting')
  })
})

test('every TOLLGATE_* variable of the README\'s settings tables is a setting the loader knows', async () => {
  const { loadConfig } = await import('../src/config/load')
  const readme = await Bun.file(new URL('../README.md', import.meta.url)).text()
  // Table rows of the form | name | `TOLLGATE_…` | default | meaning |
  const rows = readme.split('\n').filter((line) => /^\| [^|]+ \| `TOLLGATE_/.test(line))
  const names = [...new Set(rows.flatMap((row) => row.split('|')[2]!.match(/TOLLGATE_[A-Z0-9_]+/g) ?? []))]
  expect(names.length).toBeGreaterThan(25)
  const unknown = names.filter((name) => {
    try {
      loadConfig({ TOLLGATE_MASTER_KEY: 'test-master-key-0123456789abcdef-0123456789', [name]: '1' })
      return false
    } catch (error) {
      return /is not a tollgate setting/.test((error as Error).message)
    }
  })
  expect(unknown).toEqual([])
})
