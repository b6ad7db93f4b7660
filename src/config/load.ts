import { readFileSync } from 'node:fs'
import { configSchema, type Config } from './schema'

/** Settings that may come from the environment, as `TOLLGATE_<NAME>`. The rest are file-only. */
const ENV_SETTINGS = [
  'master_key', 'host', 'port', 'db', 'require_pricing', 'reject_user_mismatch', 'cors_allowed_origins',
  'rate_limit_per_min', 'trust_proxy', 'disable_security_headers', 'max_body_bytes',
  'default_max_output_tokens', 'cap_output_tokens', 'media_part_tokens', 'reservation_ttl_sec',
  'upstream_timeout_ms', 'upstream_idle_timeout_ms', 'audit_retention_days', 'cache_ttl_ms',
  'metrics_enabled', 'metrics_token', 'log_level',
] as const

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Env = Record<string, string | undefined>

/** Replaces `${VAR}` in every string of the file; an unset variable is an error, never an empty secret. */
function expandVariables(value: unknown, env: Env, path: string): unknown {
  if (typeof value === 'string')
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name]
      if (v === undefined) throw new ConfigError(`${path}: environment variable ${name} is not set`)
      return v
    })
  if (Array.isArray(value)) return value.map((v, i) => expandVariables(v, env, `${path}[${i}]`))
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandVariables(v, env, path ? `${path}.${k}` : k)]))
  return value
}

function readFile(path: string, env: Env): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new ConfigError(`TOLLGATE_CONFIG: cannot read ${path}: ${(e as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = Bun.YAML.parse(text)
  } catch (e) {
    throw new ConfigError(`TOLLGATE_CONFIG: ${path} is not valid YAML: ${(e as Error).message}`)
  }
  if (parsed == null) return {}
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`TOLLGATE_CONFIG: ${path} must be a mapping`)
  return expandVariables(parsed, env, '') as Record<string, unknown>
}

/** The whole configuration: the file (if any), then the environment on top. Throws ConfigError naming the field. */
export function loadConfig(env: Env = process.env): Config {
  const raw: Record<string, unknown> = env.TOLLGATE_CONFIG ? readFile(env.TOLLGATE_CONFIG, env) : {}
  for (const name of ENV_SETTINGS) {
    const value = env[`TOLLGATE_${name.toUpperCase()}`]
    if (value !== undefined) raw[name] = value
  }
  // An empty master key means "not configured": fail closed with the same message as a missing one.
  if (raw.master_key === '') delete raw.master_key

  const result = configSchema.safeParse(raw)
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const field = issue.path.join('.')
      const envName = ENV_SETTINGS.includes(issue.path[0] as (typeof ENV_SETTINGS)[number]) && issue.path.length === 1
        ? ` (TOLLGATE_${field.toUpperCase()})` : ''
      return `${field}${envName}: ${issue.message}`
    })
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`)
  }
  return result.data
}
