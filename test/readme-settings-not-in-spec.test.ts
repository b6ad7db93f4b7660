/**
 * README "Choices where the SPEC is silent" says which `TOLLGATE_*` settings are ones "the SPEC does not list"
 * (SPEC §2 leaves anything it does not specify to be written down in the README). The list named 8 of them
 * while the environment took 15 more that SPEC §2's table (and §11's three) never mention: an operator reading the
 * README's list of additions believed the rest were the SPEC's own.
 */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ENV_SETTINGS } from '../src/config/load'

const README = readFileSync(join(import.meta.dir, '..', 'README.md'), 'utf8')

/** SPEC §2's configuration table, and §11's TOLLGATE_DATABASE_URL, TOLLGATE_REDIS_URL and TOLLGATE_WORKERS. */
const IN_SPEC = new Set([
  'master_key', 'host', 'port', 'db', 'require_pricing', 'reject_user_mismatch', 'cors_allowed_origins', 'rate_limit_per_min',
  'trust_proxy', 'disable_security_headers', 'max_body_bytes', 'default_max_output_tokens', 'cap_output_tokens',
  'reservation_ttl_sec', 'upstream_timeout_ms', 'audit_retention_days',
  'database_url', 'redis_url', 'workers',
])

test("README's list of the settings the SPEC does not list names every one of them", () => {
  const sentence = /^- (`TOLLGATE_[^\n]*(?:\n {2}[^\n]*)*?) are\s+settings the SPEC does not list\./m.exec(README)
  expect(sentence).not.toBeNull()
  const text = sentence![1]!
  const listed = (setting: string) => {
    const env = `TOLLGATE_${setting.toUpperCase()}`
    // `TOLLGATE_METRICS_*` stands for every setting it starts.
    return text.includes(`\`${env}\``) || [...text.matchAll(/`(TOLLGATE_[A-Z_]+)_\*`/g)].some((m) => env.startsWith(`${m[1]}_`))
  }
  const unlisted = ENV_SETTINGS.filter((s) => !IN_SPEC.has(s) && !listed(s)).map((s) => `TOLLGATE_${s.toUpperCase()}`)
  expect(unlisted).toEqual([])
})
