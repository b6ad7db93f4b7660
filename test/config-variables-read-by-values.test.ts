/**
 * A `TOLLGATE_*` variable that is no setting is refused (a typo such as TOLLGATE_RATE_LIMIT would leave the gateway
 * unlimited) unless the config file reads it with `${VAR}`. The file's text was searched whole, comments included: a
 * `${TOLLGATE_…}` in a comment (a line commented out, a note) let a variable the file never reads pass the check.
 */
import { afterAll, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config/load'
import { MASTER_KEY, tempDir } from './support/gateway'

const dir = tempDir('tollgate-variables-read-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function outcome(yaml: string, env: Record<string, string>): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, yaml)
  try {
    const config = loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_DB: ':memory:', TOLLGATE_CONFIG: file, ...env })
    return `accepted: ${config.providers.acme?.api_key}`
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return `refused: ${error.message}`
  }
}

const PROVIDER = 'providers:\n  acme:\n    type: openai\n    base_url: https://acme.example/v1\n'

test('a variable only a comment names is not read: set, it is refused as no setting', () => {
  const yaml = `${PROVIDER}    # api_key: \${TOLLGATE_ACME_KEY}   (the old key, kept for reference)\n`
  expect(outcome(yaml, { TOLLGATE_ACME_KEY: 'sk-acme-0123456789' })).toBe(
    'refused: invalid configuration:\n  TOLLGATE_ACME_KEY: is not a tollgate setting (nor a variable the config file reads); check its spelling or unset it',
  )
})

test('a variable a value reads, in any string of the file, is allowed', () => {
  expect(outcome(`${PROVIDER}    api_key: \${TOLLGATE_ACME_KEY}\n`, { TOLLGATE_ACME_KEY: 'sk-acme-0123456789' })).toBe('accepted: sk-acme-0123456789')
  const inHeader = `${PROVIDER}    headers: { x-team: "team-\${TOLLGATE_TEAM}" }  # \${TOLLGATE_OTHER}\n`
  expect(outcome(inHeader, { TOLLGATE_TEAM: 'web' })).toBe('accepted: ')
  expect(outcome(inHeader, { TOLLGATE_TEAM: 'web', TOLLGATE_OTHER: 'x' })).toContain('TOLLGATE_OTHER: is not a tollgate setting')
})
