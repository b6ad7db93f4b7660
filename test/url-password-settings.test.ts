/**
 * TOLLGATE_DATABASE_PASSWORD and TOLLGATE_REDIS_PASSWORD: a password given apart from its URL may hold any
 * character (`openssl rand -base64` gives `/`, `+`, `=`; a person may choose `@`, `%`, `#`), and tollgate escapes it
 * into the URL the client opens, in place of any written there. Refused when empty or without its URL, naming the
 * setting and never quoting the password. (Logging in with one: test/engines/deploy-passwords.engine.ts.)
 */
import { expect, test } from 'bun:test'
import { withPassword } from '../src/config/client-urls'
import { loadConfig } from '../src/config/load'

const MASTER_KEY = 'url-password-test-master-key-9f8e7d6c5b4a3210'
const PASSWORD = 'a/b+c=d@e:f%2Fg#h?i[j] é'

const load = (env: Record<string, string>) => loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_DB: ':memory:', ...env })
const refusal = (env: Record<string, string>) => {
  try {
    load(env)
    return ''
  } catch (error) {
    return (error as Error).message
  }
}

test('the password is escaped into the URL: the client reads back exactly that password, the rest of the URL as written', () => {
  const config = load({
    TOLLGATE_DATABASE_URL: 'postgres://tollgate@db.internal:5432/tollgate?sslmode=require',
    TOLLGATE_DATABASE_PASSWORD: PASSWORD,
    TOLLGATE_REDIS_URL: 'rediss://cache.internal:6380/2',
    TOLLGATE_REDIS_PASSWORD: PASSWORD,
  })
  const postgres = new URL(config.database_url!)
  expect([postgres.username, postgres.host, postgres.pathname, postgres.search]).toEqual(['tollgate', 'db.internal:5432', '/tollgate', '?sslmode=require'])
  expect(decodeURIComponent(postgres.password)).toBe(PASSWORD)
  const redis = new URL(config.redis_url!)
  expect([redis.username, redis.host, redis.pathname]).toEqual(['', 'cache.internal:6380', '/2'])
  expect(decodeURIComponent(redis.password)).toBe(PASSWORD)
  // The passwords are in the URLs only: no setting carries one apart.
  expect(Object.keys(config)).not.toContain('database_password')
  expect(Object.keys(config)).not.toContain('redis_password')
})

test('it replaces a password written in the URL (one with an unescaped `@` included)', () => {
  expect(withPassword('postgres://tollgate:old@pass@db:5432/tollgate', 'new')).toBe('postgres://tollgate:new@db:5432/tollgate')
  expect(withPassword('redis://:old@redis:6379', 'n/w')).toBe('redis://:n%2Fw@redis:6379')
  expect(withPassword('redis://redis:6379', 'p')).toBe('redis://:p@redis:6379')
})

test('without its URL, or empty, it stops startup naming the setting', () => {
  expect(refusal({ TOLLGATE_DATABASE_PASSWORD: PASSWORD })).toContain('database_password (TOLLGATE_DATABASE_PASSWORD): is the password of TOLLGATE_DATABASE_URL, which is not set')
  expect(refusal({ TOLLGATE_REDIS_PASSWORD: PASSWORD })).toContain('redis_password (TOLLGATE_REDIS_PASSWORD): is the password of TOLLGATE_REDIS_URL, which is not set')
  expect(refusal({ TOLLGATE_DATABASE_URL: 'postgres://tollgate@db/tollgate', TOLLGATE_DATABASE_PASSWORD: '' })).toContain('database_password (TOLLGATE_DATABASE_PASSWORD): is empty')
  expect(refusal({ TOLLGATE_REDIS_URL: 'redis://redis:6379', TOLLGATE_REDIS_PASSWORD: ' ' })).toContain('redis_password (TOLLGATE_REDIS_PASSWORD): is empty')
})

test('a refusal of its URL never quotes the password', () => {
  const message = refusal({ TOLLGATE_DATABASE_URL: 'postgres://tollgate@db:99999/tollgate', TOLLGATE_DATABASE_PASSWORD: PASSWORD, TOLLGATE_REDIS_PASSWORD: PASSWORD })
  expect(message).toContain('TOLLGATE_DATABASE_URL')
  expect(message).toContain('TOLLGATE_REDIS_PASSWORD')
  for (const form of [PASSWORD, encodeURIComponent(PASSWORD)]) expect(message).not.toContain(form)
})
