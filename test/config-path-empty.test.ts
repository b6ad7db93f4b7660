/**
 * README "Settings": "an empty environment value … stops startup", since "a misspelt setting would otherwise be
 * ignored silently". TOLLGATE_CONFIG= (empty: a compose file's `${TOLLGATE_CONFIG:-}` with the variable unset, an env
 * file's blank line) was taken as "no file": the gateway started on defaults alone, without the file's providers,
 * its rate limit (unlimited) or its alert webhooks, and said nothing.
 */
import { expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../src/config/load'
import { MASTER_KEY } from './support/gateway'

function outcome(env: Record<string, string>): string {
  try {
    const config = loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_DB: ':memory:', ...env })
    return `accepted (rate_limit_per_min ${config.rate_limit_per_min}, providers ${JSON.stringify(Object.keys(config.providers))})`
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return `refused: ${error.message}`
  }
}

test('TOLLGATE_CONFIG set but empty (or blank) stops startup, naming it', () => {
  for (const value of ['', '  '])
    expect({ value, outcome: outcome({ TOLLGATE_CONFIG: value }) }).toEqual({ value, outcome: "refused: TOLLGATE_CONFIG: is empty; give the file's path, or unset it" })
})

test('TOLLGATE_CONFIG unset still means no file: the defaults alone', () => {
  expect(outcome({})).toBe('accepted (rate_limit_per_min undefined, providers [])')
})
