/**
 * The replicas of deploy/compose.yaml, as the tests run them: the compose file is the one place their
 * settings are written, and the three-process tests start gateways with exactly that environment, with
 * only the addresses and secrets of this machine put in.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './gateway'

export const COMPOSE_FILE = join(ROOT, 'deploy', 'compose.yaml')
export const REPLICAS = ['tollgate-1', 'tollgate-2', 'tollgate-3'] as const

export const readCompose = (): any => Bun.YAML.parse(readFileSync(COMPOSE_FILE, 'utf8'))

/** `${NAME:?message}`, `${NAME:-default}` or `${NAME}` in a compose value, replaced as compose would from `vars`. */
export function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[?-]([^}]*))?\}/g, (_, name: string) => {
    if (!(name in vars)) throw new Error(`compose value needs ${name}`)
    return vars[name]!
  })
}

export interface ReplicaMachine {
  /** The Redis the tests started. */
  redisUrl: string
  /** The SQLite file standing in for Postgres until the Postgres store is there. */
  dbPath: string
  /** The config file standing in for deploy/tollgate.yaml (unset: the caller gives TOLLGATE_CONFIG, as spawnGateway does). */
  configFile?: string
  /** Unset: any free port. */
  port?: number
  masterKey: string
}

/**
 * One replica's environment from the compose file, for a process on this machine: the secrets become test
 * values, Redis and the database this machine's, the port a free one. Every other setting is the file's.
 */
export function replicaEnvironment(machine: ReplicaMachine): Record<string, string> {
  const env: Record<string, string> = readCompose().services['tollgate-1'].environment
  const vars = {
    TOLLGATE_MASTER_KEY: machine.masterKey,
    POSTGRES_PASSWORD: 'unused',
    REDIS_PASSWORD: 'unused',
    TOLLGATE_METRICS_TOKEN: 'test-metrics-token-0123456789',
    OPENAI_API_KEY: 'sk-upstream-secret-0123456789',
    ANTHROPIC_API_KEY: 'sk-ant-upstream-secret-0123456789',
  }
  const out = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v), vars)]))
  // This machine's engines: the test's Redis, a SQLite file for the database (TOLLGATE_DATABASE_URL is the
  // Postgres store's setting), the image's port and address made free loopback ones.
  delete out.TOLLGATE_DATABASE_URL
  out.TOLLGATE_DB = machine.dbPath
  out.TOLLGATE_REDIS_URL = machine.redisUrl
  if (machine.configFile) out.TOLLGATE_CONFIG = machine.configFile
  else delete out.TOLLGATE_CONFIG
  out.TOLLGATE_HOST = '127.0.0.1'
  out.TOLLGATE_PORT = String(machine.port ?? 0)
  return out
}
