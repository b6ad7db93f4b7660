/**
 * A name in the configuration that is an Object.prototype member (`constructor`, `toString`) names nothing:
 * `${constructor}` is an unset variable (an error, not the text of a function as a secret), and an alias, a
 * price or a default provider naming provider `toString` names an unknown provider.
 */
import { afterAll, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config/load'
import { MASTER_KEY, tempDir } from './support/gateway'

const dir = tempDir('tollgate-config-proto-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The message loadConfig refuses the file with, or null if it accepted it. */
function refusal(name: string, text: string): string | null {
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

const acme = 'providers:\n  acme:\n    type: openai\n    base_url: https://acme.example/v1\n'

test('${constructor} is an unset environment variable', () => {
  expect(refusal('env.yaml', `${acme}    api_key: \${constructor}\n`)).toContain('environment variable constructor is not set')
})

test('an alias, a price and a default provider naming provider toString name an unknown provider', () => {
  const message = refusal(
    'providers.yaml',
    `${acme}aliases:\n  fast: "toString:gpt-5"\npricing:\n  "constructor:gpt-5": {input_per_million: 1, output_per_million: 2}\ndefault_providers:\n  openai: toString\n`,
  ) ?? ''
  expect(message).toContain('aliases.fast')
  expect(message).toContain('pricing.constructor:gpt-5')
  expect(message).toContain('default_providers.openai')
})
