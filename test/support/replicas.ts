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

/**
 * A compose value with its `${NAME:?message}`, `${NAME:-default}` and `${NAME}` replaced from `vars` as compose
 * replaces them: `:?` stops compose (here: throws its message) when NAME is unset or empty, `:-` gives the
 * default then, and a bare `${NAME}` unset is empty.
 */
export function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([?-])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    const given = Object.hasOwn(vars, name) ? vars[name]! : ''
    if (given !== '') return given
    if (op === '?') throw new Error(`compose stops: ${arg || name}`)
    return op === '-' ? arg! : ''
  })
}

/**
 * The secrets the replicas are given, made as the README makes the master key (`openssl rand -base64 32`): the
 * passwords have the `/`, `+` and `=` that a URL would need escaped.
 */
export const REPLICA_SECRETS = {
  TOLLGATE_METRICS_TOKEN: 'test-metrics-token-0123456789',
  POSTGRES_PASSWORD: 'Xq3/vN8+Lm2kRt7Wz0Yb5Hc1Jd4Fg6Ps9Ae2Ku8Mi3o=',
  REDIS_PASSWORD: 'r7Tf+Qw2/Zx9Lk4Bn1Vc8Hm5Gj0Sd3Pa6Ey2Uo7Ii4q=',
  OPENAI_API_KEY: 'sk-upstream-secret-0123456789',
  ANTHROPIC_API_KEY: 'sk-ant-upstream-secret-0123456789',
}

export interface ReplicaMachine {
  /** The Redis the tests started, without its password. */
  redisUrl: string
  /** The password that Redis requires, given as the compose file gives it (REDIS_PASSWORD); unset: none. */
  redisPassword?: string
  /** The Postgres the tests started, in place of the compose file's `postgres:5432`, with its role `tollgate`'s password; unset: SQLite (`dbPath`). */
  postgres?: { hostPort: string; password: string }
  /** The SQLite file standing in for Postgres. */
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
    ...REPLICA_SECRETS,
    TOLLGATE_MASTER_KEY: machine.masterKey,
    ...(machine.redisPassword === undefined ? {} : { REDIS_PASSWORD: machine.redisPassword }),
    ...(machine.postgres === undefined ? {} : { POSTGRES_PASSWORD: machine.postgres.password }),
  }
  const out = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v), vars)]))
  // This machine's engines: the test's Postgres (or a SQLite file for the database) and Redis, each with its
  // password apart as the file gives it; the image's port and address made free loopback ones.
  if (machine.postgres) out.TOLLGATE_DATABASE_URL = out.TOLLGATE_DATABASE_URL!.replace('@postgres:5432/', `@${machine.postgres.hostPort}/`)
  else {
    delete out.TOLLGATE_DATABASE_URL
    delete out.TOLLGATE_DATABASE_PASSWORD
    out.TOLLGATE_DB = machine.dbPath
  }
  out.TOLLGATE_REDIS_URL = machine.redisUrl
  if (machine.redisPassword === undefined) delete out.TOLLGATE_REDIS_PASSWORD
  if (machine.configFile) out.TOLLGATE_CONFIG = machine.configFile
  else delete out.TOLLGATE_CONFIG
  out.TOLLGATE_HOST = '127.0.0.1'
  out.TOLLGATE_PORT = String(machine.port ?? 0)
  return out
}
