/**
 * Mutation guard: the schema is "strict at every level" (schema.ts), so that a
 * misspelt key stops startup naming it (SPEC §2) instead of being ignored. config-strict.test.ts checks the top
 * level, a provider and a price; these are the other sections: `alerts` (a misspelt `thresholds` leaves the
 * defaults, a misspelt `key_expiry_days` leaves 7), a webhook (a misspelt `secret` is an unsigned-looking
 * webhook the operator thinks is signed) and `default_providers` (`openia:` sends bare model ids nowhere).
 */
import { afterAll, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config/load'
import { MASTER_KEY, tempDir } from './support/gateway'

const dir = tempDir('tollgate-config-typos-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function refusalOfFile(name: string, text: string): string | null {
  const file = join(dir, name)
  writeFileSync(file, text)
  try {
    loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_CONFIG: file })
    return null
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    return e.message
  }
}

test('alerts: a misspelt setting is refused, naming it', () => {
  expect(refusalOfFile('alerts.yaml', 'alerts:\n  threshold: [90]\n')).toContain('alerts.threshold: is not a known setting')
})

test('a webhook: a misspelt field is refused, naming it', () => {
  const text = [
    'alerts:',
    '  webhooks:',
    '    ops:',
    '      url: https://hooks.example.com/tollgate',
    '      secret: 0123456789abcdef-secret',
    '      secrett: 0123456789abcdef-other',
    '',
  ].join('\n')
  expect(refusalOfFile('webhook.yaml', text)).toContain('alerts.webhooks.ops.secrett: is not a known setting')
})

test('default_providers: a misspelt wire format is refused, naming it', () => {
  const text = ['providers:', '  acme:', '    type: openai', '    base_url: https://acme.example/v1', 'default_providers:', '  openia: acme', ''].join('\n')
  expect(refusalOfFile('defaults.yaml', text)).toContain('default_providers.openia: is not a known setting')
})
