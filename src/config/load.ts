import { readFileSync } from 'node:fs'
import { quoted } from './quoted'
import { configSchema, type Config } from './schema'
import { takesNumber } from './number-settings'
import { GROUP_SETTINGS_ENV, pinGroupSettings } from '../workers/group-settings'
import { WORKER_ENV } from '../workers/worker-env'
import { scanYaml, type KeyPath, type PlainScalar } from './yaml-scan'

/** Settings that may come from the environment, as `TOLLGATE_<NAME>`. The rest are file-only. */
export const ENV_SETTINGS = [
  'master_key', 'host', 'port', 'db', 'database_url', 'database_password', 'database_timeout_ms', 'require_pricing', 'reject_user_mismatch', 'cors_allowed_origins',
  'rate_limit_per_min', 'trust_proxy', 'disable_security_headers', 'max_body_bytes', 'body_read_budget_bytes',
  'default_max_output_tokens', 'cap_output_tokens', 'clamp_output', 'clamp_output_floor_tokens', 'media_part_tokens',
  'pdf_page_tokens', 'pdf_max_pages', 'template_overhead_tokens',
  'server_tool_default_max_uses', 'server_tool_use_input_tokens', 'reservation_ttl_sec',
  'upstream_timeout_ms', 'upstream_idle_timeout_ms', 'shutdown_grace_ms', 'max_upstream_concurrency', 'audit_retention_days', 'responses_retention_days', 'cache_ttl_ms',
  'metrics_enabled', 'metrics_token', 'log_level', 'redis_url', 'redis_password', 'redis_failure', 'workers',
  'console_session_idle_min', 'console_session_max_hours', 'console_sign_ins_per_min',
] as const

/**
 * `TOLLGATE_*` names that are not settings but are legitimately set: the file's name, the admin CLI's
 * gateway address and its wait for an answer, the CI script's switch (.ci/run), which a developer may
 * have exported in the shell that also starts the gateway, and the two a TOLLGATE_WORKERS primary sets on its workers.
 */
export const OTHER_NAMES = new Set(['TOLLGATE_CONFIG', 'TOLLGATE_URL', 'TOLLGATE_CLI_TIMEOUT_MS', 'TOLLGATE_SKIP_CONTAINER_CHECK', WORKER_ENV, GROUP_SETTINGS_ENV])

/** An empty list of origins is what "no origins" looks like in a compose file: it means none (CORS off). */
const MAY_BE_EMPTY = new Set<string>(['cors_allowed_origins'])

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Env = Record<string, string | undefined>

/**
 * Replaces `${VAR}` in every string of the file, adding each name to `read`; an unset or empty variable is an
 * error, never an empty secret (compose's `${VAR:-}` gives a provider key the operator did not set as empty).
 */
function expandVariables(value: unknown, env: Env, path: string, read: Set<string>): unknown {
  if (typeof value === 'string')
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      read.add(name)
      const v = Object.hasOwn(env, name) ? env[name] : undefined
      if (v === undefined) throw new ConfigError(`${path}: environment variable ${name} is not set`)
      if (v.trim() === '') throw new ConfigError(`${path}: environment variable ${name} is empty`)
      return v
    })
  if (Array.isArray(value)) return value.map((v, i) => expandVariables(v, env, `${path}[${i}]`, read))
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandVariables(v, env, path ? `${path}.${k}` : k, read)]))
  return value
}

function readFile(path: string, env: Env): { settings: Record<string, unknown>; references: Set<string> } {
  let text: string
  try {
    // YAML takes "\r\n" and a lone "\r" as line breaks, as "\n": so must the checks below (scanYaml), which
    // read lines. A file saved with CR line breaks was one line to them and passed unchecked.
    text = readFileSync(path, 'utf8').replace(/\r\n?/g, '\n')
  } catch (e) {
    throw new ConfigError(`TOLLGATE_CONFIG: cannot read ${path}: ${(e as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = Bun.YAML.parse(text)
  } catch (e) {
    throw new ConfigError(`TOLLGATE_CONFIG: ${path} is not valid YAML: ${(e as Error).message}`)
  }
  if (parsed == null) return { settings: {}, references: new Set() }
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`TOLLGATE_CONFIG: ${path} must be a mapping`)
  const { duplicates, plainScalars, notFollowed } = scanYaml(text)
  // What the checks below did not read, they would pass unchecked: a key written twice, a number spelt 0x10.
  if (notFollowed !== undefined)
    throw new ConfigError(`TOLLGATE_CONFIG: ${path} line ${notFollowed}: tollgate's checks of the file (keys written twice, numbers' spelling) do not read what is written there; write its keys as plain block keys (\`key: value\`) or scalar explicit keys (\`? key\`)`)
  // Bun.YAML.parse keeps the last of a key written twice: a price or a limit written again further down would
  // replace the first silently.
  if (duplicates.length)
    throw new ConfigError(`invalid configuration:\n  ${duplicates.map(({ path: key, lines: [first, again] }) =>
      `${fieldName(key)}: is written twice in ${path} (lines ${first} and ${again}); a YAML key is unique: keep one of them`).join('\n  ')}`)
  const misspelt = numberSpellingProblems(parsed, plainScalars)
  if (misspelt.length) throw new ConfigError(`invalid configuration:\n  ${misspelt.join('\n  ')}`)
  // The variables the file's values read (a secret may well be named TOLLGATE_SOMETHING), not those its
  // comments mention: a `${TOLLGATE_…}` commented out reads nothing, and the variable set for it is a mistake.
  const references = new Set<string>()
  return { settings: expandVariables(parsed, env, '', references) as Record<string, unknown>, references }
}

/** A number as the configuration takes it: decimal digits, a fraction where the setting takes one (0.25), no leading zero. */
const PLAIN_DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/

/**
 * The file's numbers not written in plain decimal digits: YAML reads `0x1F90` as 8080, `1e3` as 1000, `0o17` as 15,
 * `+80` as 80 and `.inf` as Infinity (and YAML 1.1 reads `010` as 8), any of which in a setting is far likelier a
 * mistake than meant. The environment's text is held to the same spelling by the schema (wholeNumber). In a setting
 * that takes no number the text is a secret as likely as not (a password of digits with a leading zero, a key
 * starting 0x): it is never quoted (SPEC §2), and a setting unknown to the schema is left to its refusal.
 */
function numberSpellingProblems(parsed: unknown, plainScalars: readonly PlainScalar[]): string[] {
  return plainScalars
    .filter(({ path, text }) => typeof valueAt(parsed, path) === 'number' && !PLAIN_DECIMAL.test(text))
    .flatMap(({ path, text }) => {
      const numeric = takesNumber(configSchema, path)
      if (numeric === undefined) return []
      return numeric
        ? [`${fieldName(path)}: is written ${text}, which YAML reads as ${valueAt(parsed, path)}; write a number in decimal digits, such as 8080 or 0.25`]
        : [`${fieldName(path)}: is written unquoted in a form YAML reads as a number, which this setting does not take; quote it to give it as text`]
    })
}

const valueAt = (root: unknown, path: KeyPath): unknown =>
  path.reduce<unknown>((node, key) => (node !== null && typeof node === 'object' && Object.hasOwn(node, key) ? (node as Record<PropertyKey, unknown>)[key] : undefined), root)

const envName = (setting: string) => `TOLLGATE_${setting.toUpperCase()}`
const ENV_NAMES = new Set<string>(ENV_SETTINGS.map(envName))

/**
 * Refusals the schema cannot see: a `TOLLGATE_*` variable that is no setting (a typo such as
 * TOLLGATE_RATE_LIMIT would otherwise leave the gateway unlimited), and a setting given as empty text
 * (which would otherwise become 0 or the default, neither of which was asked for).
 */
function environmentProblems(env: Env, references: Set<string>): string[] {
  const problems: string[] = []
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('TOLLGATE_') || value === undefined) continue
    if (!ENV_NAMES.has(name)) {
      if (!OTHER_NAMES.has(name) && !references.has(name))
        problems.push(`${name}: is not a tollgate setting (nor a variable the config file reads); check its spelling or unset it`)
      continue
    }
    const setting = name.slice('TOLLGATE_'.length).toLowerCase()
    if (value.trim() === '' && setting !== 'master_key' && !MAY_BE_EMPTY.has(setting))
      problems.push(`${setting} (${name}): is empty; give a value, or unset it for the default`)
  }
  return problems
}

/**
 * A setting's path as a message names it: `pricing.mock:gpt-mock`, a key that is not plain text (whitespace, an
 * invisible character, a quote in it) quoted as `quoted` shows it: `pricing."mock:gpt-mock "`.
 */
const fieldName = (path: readonly PropertyKey[]): string =>
  path.map((key) => (typeof key === 'string' && !PLAIN_KEY.test(key) ? quoted(key) : String(key))).join('.')

const PLAIN_KEY = /^[^\p{Cc}\p{Cf}\p{Z}"\\]+$/u

/** The whole configuration: the file (if any), then the environment on top. Throws ConfigError naming the field. */
export function loadConfig(env: Env = process.env): Config {
  // Set but empty (compose's `${TOLLGATE_CONFIG:-}`) is not "no file": the gateway would start without the
  // file's providers, rate limit and webhooks, and say nothing.
  if (env.TOLLGATE_CONFIG?.trim() === '') throw new ConfigError("TOLLGATE_CONFIG: is empty; give the file's path, or unset it")
  const file = env.TOLLGATE_CONFIG !== undefined ? readFile(env.TOLLGATE_CONFIG, env) : { settings: {}, references: new Set<string>() }
  const problems = environmentProblems(env, file.references)
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`)
  const raw = file.settings
  for (const name of ENV_SETTINGS) {
    const value = env[envName(name)]
    if (value !== undefined) raw[name] = value
  }
  pinGroupSettings(raw, env)
  // An empty master key means "not configured": fail closed with the same message as a missing one.
  if (raw.master_key === '') delete raw.master_key

  const result = configSchema.safeParse(raw)
  if (!result.success) {
    const lines = result.error.issues.flatMap((issue) => {
      // An unknown key is reported where it was written: `provider`, `providers.openai.apikey`.
      if (issue.code === 'unrecognized_keys')
        return issue.keys.map((key) => `${fieldName([...issue.path, key])}: is not a known setting; check its spelling`)
      const field = fieldName(issue.path)
      // A refused key of a section (a price's model, an alias) is reported by its own reasons, not zod's "Invalid key in record".
      if (issue.code === 'invalid_key') return issue.issues.map((reason) => `${field}: ${reason.message}`)
      const fromEnv = ENV_SETTINGS.includes(issue.path[0] as (typeof ENV_SETTINGS)[number]) && issue.path.length === 1
        ? ` (${envName(field)})` : ''
      return [`${field}${fromEnv}: ${issue.message}`]
    })
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`)
  }
  return result.data
}
