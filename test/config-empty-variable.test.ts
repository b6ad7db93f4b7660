/**
 * Mutation guard: a `${VAR}` in the file that is set but empty (compose's
 * `${VAR:-}`, a secret store that returned nothing) stops startup naming the variable (load.ts expandVariables):
 * it is never taken as an empty provider key or webhook secret. startup.test.ts checks an unset variable only.
 */
import { afterAll, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config/load'
import { MASTER_KEY, tempDir } from './support/gateway'

const dir = tempDir('tollgate-config-empty-var-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const file = join(dir, 'tollgate.yaml')
writeFileSync(file, 'providers:\n  acme:\n    type: openai\n    base_url: https://acme.example/v1\n    api_key: ${ACME_KEY}\n')

function refusal(value: string): string | null {
  try {
    loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_CONFIG: file, ACME_KEY: value })
    return null
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    return e.message
  }
}

test('an empty or blank variable is refused, naming the setting and the variable', () => {
  for (const value of ['', '   '])
    expect({ value, message: refusal(value) }).toEqual({ value, message: 'providers.acme.api_key: environment variable ACME_KEY is empty' })
})

test('a set variable is taken', () => {
  expect(loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_CONFIG: file, ACME_KEY: 'sk-acme-0123456789' }).providers.acme?.api_key).toBe('sk-acme-0123456789')
})
