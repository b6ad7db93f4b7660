/**
 * README "A deployment to copy: deploy/" tells the operator to
 *   export TOLLGATE_MASTER_KEY="$(openssl rand -base64 36)" POSTGRES_PASSWORD=… REDIS_PASSWORD=… …
 *   docker compose -f deploy/compose.yaml up -d --build
 * An operator making the other secrets the same way gets passwords with `/` and `+` about half the time.
 * compose.yaml pasted POSTGRES_PASSWORD and REDIS_PASSWORD raw into TOLLGATE_DATABASE_URL / TOLLGATE_REDIS_URL,
 * while the postgres and redis services take them raw: every replica refused to start ("Invalid URL") and was
 * restarted for ever. The replicas must reach both with whatever password the services were given.
 * (No container engine here: compose's interpolation is done as test/support/replicas.ts does it;
 * test/engines/deploy-passwords.engine.ts logs in to a real Postgres and Redis with such passwords.)
 */
import { expect, test } from 'bun:test'
import { join } from 'node:path'
import { loadConfig } from '../src/config/load'
import { ROOT } from './support/gateway'
import { interpolate, readCompose } from './support/replicas'

// Two outputs of `openssl rand -base64 36` (48 characters of the base64 alphabet, `/` and `+` included).
const POSTGRES_PASSWORD = 'q8Zr/0kTn+X1vWb3LhY7s2Dc9Pm4Ea6Ru5Gi1Oj0Kf8Nw2Tx'
const REDIS_PASSWORD = 'hJ4k/9sLq+2wErT6yU1iOp0aSd3fGh5jKl7zXc8vBn9mQw1E'

const compose = readCompose()
const vars = {
  TOLLGATE_MASTER_KEY: 'kV3n8Qw2Zr5Tb7Yh1Lp9Xc4Md6Fs0Gj2Ha8Ke3Nu5Rw7Tq1V',
  POSTGRES_PASSWORD,
  REDIS_PASSWORD,
  TOLLGATE_METRICS_TOKEN: 'metrics-token-0123456789abcdef',
  OPENAI_API_KEY: 'sk-upstream-secret-0123456789',
  ANTHROPIC_API_KEY: 'sk-ant-upstream-secret-0123456789',
}

/** A replica's environment as compose makes it from `vars`, with the compose file's own tollgate.yaml. */
function replicaEnv(): Record<string, string> {
  const env: Record<string, string> = compose.services['tollgate-1'].environment
  const out = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v), vars)]))
  out.TOLLGATE_CONFIG = join(ROOT, 'deploy', 'tollgate.yaml')
  return out
}

/** The configuration a replica starts with, or the refusal it stops with. */
function replicaConfig() {
  try {
    return { config: loadConfig(replicaEnv()), refusal: '' }
  } catch (error) {
    return { config: undefined, refusal: String((error as Error).message) }
  }
}

test('the postgres and redis services take the passwords as the operator set them', () => {
  expect(interpolate(compose.services.postgres.environment.POSTGRES_PASSWORD, vars)).toBe(POSTGRES_PASSWORD)
  expect(compose.services.redis.command.map((a: string) => interpolate(a, vars))).toContain(REDIS_PASSWORD)
})

test('deploy/compose.yaml: replicas accept a POSTGRES_PASSWORD made like the master key, and log in with it', () => {
  // Before: "database_url (TOLLGATE_DATABASE_URL): the Postgres client refuses it: Invalid URL".
  const { config, refusal } = replicaConfig()
  expect(refusal).toBe('')
  const url = new URL(config!.database_url!)
  expect(url.hostname).toBe('postgres')
  expect(url.username).toBe('tollgate')
  expect(decodeURIComponent(url.password)).toBe(POSTGRES_PASSWORD)
})

test('deploy/compose.yaml: the Redis URL the replicas use carries the REDIS_PASSWORD the redis service requires', () => {
  // The host must stay `redis` and the password whole: a `/` pasted into the URL ended its authority part.
  const { config, refusal } = replicaConfig()
  expect(refusal).toBe('')
  expect(URL.canParse(config!.redis_url!)).toBe(true)
  const url = new URL(config!.redis_url!)
  expect(url.hostname).toBe('redis')
  expect(decodeURIComponent(url.password)).toBe(REDIS_PASSWORD)
})
