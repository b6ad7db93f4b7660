/**
 * `database_password` and `redis_password` are refused when empty. From the environment a blank value ("   ") is
 * empty too (every TOLLGATE_* value is trimmed for that check, and `tollgate migrate` refuses it alike), but written in
 * the file it passed `min(1)`: the gateway logged in with three spaces for a password.
 */
import { afterAll, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config/load'
import { MASTER_KEY, tempDir } from './support/gateway'

const dir = tempDir('tollgate-blank-password-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function outcome(yaml: string): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, yaml)
  try {
    const config = loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_DB: ':memory:', TOLLGATE_CONFIG: file })
    return `accepted: ${config.database_url ?? ''} ${config.redis_url ?? ''}`.trim()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return `refused: ${error.message}`
  }
}

test('a blank password written in the file is empty, as it is from the environment', () => {
  for (const blank of ['"   "', '"\\t"', "'  '"]) {
    expect(outcome(`database_url: postgres://tollgate@db/tollgate\ndatabase_password: ${blank}\n`)).toBe(
      'refused: invalid configuration:\n  database_password (TOLLGATE_DATABASE_PASSWORD): is empty; give the password, or unset it',
    )
    expect(outcome(`redis_url: redis://redis:6379\nredis_password: ${blank}\n`)).toBe(
      'refused: invalid configuration:\n  redis_password (TOLLGATE_REDIS_PASSWORD): is empty; give the password, or unset it',
    )
  }
})

test('a password with blanks around or inside it is taken as written', () => {
  expect(outcome('database_url: postgres://tollgate@db/tollgate\ndatabase_password: " p w "\n')).toBe('accepted: postgres://tollgate:%20p%20w%20@db/tollgate')
})
