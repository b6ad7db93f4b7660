/**
 * deploy/: the compose file a team copies to run three replicas (issue 14). No container engine runs here,
 * so the file is checked by reading it: services, pinned images, the replicas' environment (secrets only
 * from the environment, a configuration tollgate accepts), health checks, the non-root user, and the load
 * balancer in front of exactly those replicas.
 */
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../src/config/load'
import { IDLE_TIMEOUT_SEC } from '../src/http/idle-timeout'
import { ROOT } from './support/gateway'
import { interpolate, readCompose, REPLICA_SECRETS, REPLICAS, replicaEnvironment } from './support/replicas'

const compose = readCompose()
const services = compose.services as Record<string, any>
const SECRET_NAME = /KEY|PASSWORD|TOKEN|SECRET|AUTH/
/** A file's text without its comments: what compose and nginx read. */
const settingsOf = (file: string) => readFileSync(join(ROOT, 'deploy', file), 'utf8').replace(/^\s*#.*$/gm, '')

describe('deploy/compose.yaml', () => {
  test('three tollgate replicas, Postgres, Redis and a load balancer', () => {
    expect(Object.keys(services).sort()).toEqual(['lb', 'postgres', 'redis', ...REPLICAS].sort())
    expect(services.postgres.image).toStartWith('postgres:')
    expect(services.redis.image).toStartWith('redis:')
    expect(services.lb.image).toStartWith('nginx:')
    // Only the load balancer is published.
    for (const [name, s] of Object.entries(services)) expect({ name, published: s.ports !== undefined }).toEqual({ name, published: name === 'lb' })
  })

  test('every image is pinned to a version, and the replicas are built from this Dockerfile', () => {
    for (const [name, s] of Object.entries(services)) {
      expect({ name, image: s.image }).toEqual({ name, image: expect.stringMatching(/^[a-z0-9./-]+:[0-9a-z][\w.-]*$/) })
      expect(s.image).not.toEndWith(':latest')
    }
    for (const name of REPLICAS) expect(services[name].build).toEqual({ context: '..', dockerfile: 'Dockerfile' })
  })

  test('the replicas run as the image\'s non-root user, on a read-only filesystem', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1])
    expect(users.at(-1)).toBe('bun')
    for (const name of REPLICAS) {
      expect(services[name].user).toBe('1000:1000')
      expect(services[name].read_only).toBe(true)
      expect(services[name].privileged).toBeUndefined()
    }
  })

  test('every service has a health check, and each waits for what it needs to be healthy', () => {
    for (const [name, s] of Object.entries(services)) {
      expect({ name, test: s.healthcheck?.test?.length > 0 }).toEqual({ name, test: true })
      expect(s.restart).toBe('unless-stopped')
    }
    for (const name of REPLICAS) {
      expect(services[name].healthcheck.test.join(' ')).toContain('http://127.0.0.1:8080/health')
      expect(services[name].depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } })
    }
    expect(services.lb.depends_on).toEqual(Object.fromEntries(REPLICAS.map((r) => [r, { condition: 'service_healthy' }])))
  })

  test('the replicas share one environment: Postgres, Redis, limits, trusted proxy', () => {
    const envs = REPLICAS.map((r) => services[r].environment)
    expect(envs[1]).toEqual(envs[0])
    expect(envs[2]).toEqual(envs[0])
    const env = envs[0]
    // The passwords apart from the URLs (tollgate escapes them into the URL), as the services take them: raw.
    expect(env.TOLLGATE_DATABASE_URL).toBe('postgres://tollgate@postgres:5432/tollgate')
    expect(env.TOLLGATE_DATABASE_PASSWORD).toBe(services.postgres.environment.POSTGRES_PASSWORD)
    expect(env.TOLLGATE_REDIS_URL).toBe('redis://redis:6379')
    expect(services.redis.command).toContain(env.TOLLGATE_REDIS_PASSWORD)
    expect(env.TOLLGATE_REDIS_FAILURE).toBe('open')
    expect(Number(env.TOLLGATE_RATE_LIMIT_PER_MIN)).toBeGreaterThan(0)
    expect(env.TOLLGATE_TRUST_PROXY).toBe('true')
    // One process per container: replicas scale by containers here, TOLLGATE_WORKERS is for one host.
    expect(env.TOLLGATE_WORKERS).toBeUndefined()
  })

  test('secrets come only from the environment, never written in the file', () => {
    // tollgate.yaml reads provider keys with ${VAR}, as tollgate expands them: one unset or empty stops the replica.
    const config = Bun.YAML.parse(readFileSync(join(ROOT, 'deploy', 'tollgate.yaml'), 'utf8')) as any
    for (const p of Object.values(config.providers) as any[]) expect(p.api_key).toMatch(/^\$\{[A-Z_]+\}$/)
    const readByTollgate = new Set((Object.values(config.providers) as any[]).map((p) => /^\$\{([A-Z_]+)\}$/.exec(p.api_key)![1]))
    // Required (`:?`, compose stops naming it), but a provider key, which is required by tollgate when tollgate.yaml
    // reads it (`:-`: empty when unset), so that a provider removed from tollgate.yaml needs no key.
    const check = (where: string, env: Record<string, unknown>) => {
      for (const [name, value] of Object.entries(env)) {
        if (!SECRET_NAME.test(name)) continue
        const reference = readByTollgate.has(name) ? new RegExp(`^\\$\\{${name}:-\\}$`) : /^\$\{[A-Z_]+:\?[^}]+\}$/
        expect({ where, name, value }).toEqual({ where, name, value: expect.stringMatching(reference) })
      }
    }
    for (const [name, s] of Object.entries(services)) check(name, s.environment ?? {})
    // No password inside a URL (one with a `/` or an `@` breaks it); the one in the redis command is a reference.
    const text = settingsOf('compose.yaml')
    expect([...text.matchAll(/:\/\/([^/@\n]*)@/g)].map((m) => m[1]!).filter((userInfo) => userInfo.includes(':'))).toEqual([])
    expect(services.redis.command).toContain('${REDIS_PASSWORD:?set REDIS_PASSWORD}')
  })

  test('the replicas\' settings are a configuration tollgate accepts', () => {
    const env = replicaEnvironment({
      redisUrl: 'redis://127.0.0.1:6379', redisPassword: REPLICA_SECRETS.REDIS_PASSWORD,
      postgres: { hostPort: '127.0.0.1:5432', password: REPLICA_SECRETS.POSTGRES_PASSWORD },
      dbPath: ':memory:', configFile: join(ROOT, 'deploy', 'tollgate.yaml'), port: 8080,
      masterKey: 'deploy-test-master-key-9f8e7d6c5b4a3210',
    })
    const config = loadConfig(env)
    // Passwords as an operator makes them (`/`, `+`, `=`), in the URLs the clients open, escaped.
    const redis = new URL(config.redis_url!)
    expect([redis.host, decodeURIComponent(redis.password)]).toEqual(['127.0.0.1:6379', REPLICA_SECRETS.REDIS_PASSWORD])
    const postgres = new URL(config.database_url!)
    expect([postgres.username, postgres.host, postgres.pathname, decodeURIComponent(postgres.password)])
      .toEqual(['tollgate', '127.0.0.1:5432', '/tollgate', REPLICA_SECRETS.POSTGRES_PASSWORD])
    expect(config.redis_failure).toBe('open')
    expect(config.trust_proxy).toBe(true)
    expect(Object.keys(config.providers).sort()).toEqual(['anthropic', 'openai'])
  })

  test('a replica\'s stop ends before the runtime\'s SIGKILL: stop_grace_period is the shutdown grace and 2 s more, at least', () => {
    const seconds = (duration: string) => Number(/^(\d+)s$/.exec(duration)?.[1])
    for (const name of REPLICAS) {
      const graceMs = Number(services[name].environment.TOLLGATE_SHUTDOWN_GRACE_MS)
      expect(graceMs).toBeGreaterThan(0)
      expect(seconds(services[name].stop_grace_period) * 1000).toBeGreaterThanOrEqual(graceMs + 2_000)
    }
  })

  test('Postgres keeps its durability settings; Redis keeps nothing on disk', () => {
    const text = settingsOf('compose.yaml')
    expect(text).not.toMatch(/synchronous_commit|fsync\s*=\s*off|full_page_writes/)
    expect(services.postgres.command).toBeUndefined()
    expect(services.postgres.volumes).toEqual(['pgdata:/var/lib/postgresql/data'])
    expect(services.redis.command.join(' ')).toContain("--save  --appendonly no")
  })

  test('a variable a replica needs and the operator did not set stops compose, naming it', () => {
    expect(() => interpolate(services['tollgate-1'].environment.TOLLGATE_MASTER_KEY, {})).toThrow('TOLLGATE_MASTER_KEY')
  })
})

describe('deploy/nginx.conf', () => {
  const conf = settingsOf('nginx.conf')

  test('balances over exactly the three replicas, on the port the compose file publishes', () => {
    expect([...conf.matchAll(/^\s*server\s+([\w-]+):8080\b/gm)].map((m) => m[1])).toEqual([...REPLICAS])
    expect(conf).toMatch(/listen 8080;/)
    expect(services.lb.ports).toEqual(['8080:8080'])
  })

  test('streams unbuffered, sets the client address the replicas trust, never resends a POST', () => {
    expect(conf).toMatch(/proxy_buffering off;/)
    expect(conf).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/)
    // The console's sign-in compares the browser's Origin with this Host: it keeps the published port.
    expect(conf).toMatch(/proxy_set_header Host \$http_host;/)
    expect(conf).not.toContain('$proxy_add_x_forwarded_for')
    expect(conf).not.toContain('non_idempotent')
    // Longer than the gateway's upstream timeout (600 s), so that the gateway answers a slow call itself.
    expect(Number(/proxy_read_timeout (\d+)s;/.exec(conf)?.[1])).toBeGreaterThan(600)
  })

  test("closes an idle upstream connection before the gateway's idle timeout does", () => {
    // nginx's default (60 s) outlived the replicas' 30 s idle close: a request sent on a connection the replica was
    // closing got a 502 (a POST is not sent again: proxy_next_upstream). nginx must close its idle ones first.
    const upstream = /upstream tollgate \{([^}]*)\}/.exec(conf)?.[1] ?? ''
    expect(upstream).toMatch(/^\s*keepalive \d+;/m)
    const idle = /^\s*keepalive_timeout (\d+)s;/m.exec(upstream)?.[1]
    expect(idle).toBeDefined()
    expect(Number(idle)).toBeLessThan(IDLE_TIMEOUT_SEC)
    expect(Number(idle)).toBeGreaterThan(0)
  })
})
