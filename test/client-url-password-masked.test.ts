/**
 * A client's refusal of TOLLGATE_DATABASE_URL or TOLLGATE_REDIS_URL is shown without the URL's password
 * (src/config/client-urls.ts). Only the password as part of the URL's user-info is masked: the password alone was
 * replaced anywhere in the reason, and a short one (`p`, `o`) masked unrelated words, `prefer` turned `***refer`.
 */
import { expect, test } from 'bun:test'
import { postgresUrlProblem, redisUrlProblem, withoutPassword } from '../src/config/client-urls'

test('a one-letter Postgres password leaves the words of the refusal as they are', () => {
  expect(postgresUrlProblem('postgres://tollgate:p@127.0.0.1:5432/tollgate?sslmode=prefer2')).toBe(
    "The argument 'sslmode' must be one of: disable, allow, prefer, require, verify-ca, verify-full. Received 'prefer2'",
  )
})

test('a one-letter Redis password leaves the words of the refusal as they are', () => {
  expect(redisUrlProblem('redis://tollgate:o@127.0.0.1:0/0')).toBe('Port 0 is not valid for TCP connections')
})

test('a refusal that echoes the URL shows it with its password masked, the rest of it kept', () => {
  const url = 'postgres://tollgate:p@127.0.0.1:99999/tollgate'
  expect(withoutPassword(`Invalid URL '${url}' (port past 65535): prefer a port below`, url)).toBe(
    "Invalid URL 'postgres://tollgate:***@127.0.0.1:99999/tollgate' (port past 65535): prefer a port below",
  )
})

test('a password with an unencoded @, or escapes, is masked whole, as written, as a URL parser prints it, or decoded', () => {
  const raw = 'redis://:p@ss@127.0.0.1:6379/abc'
  expect(withoutPassword(`bad ${raw}; parsed redis://:p%40ss@127.0.0.1:6379/abc`, raw)).toBe(
    'bad redis://:***@127.0.0.1:6379/abc; parsed redis://:***@127.0.0.1:6379/abc',
  )
  const escaped = 'postgres://u:s%3Acret@127.0.0.1/db?sslmode=bogus'
  expect(withoutPassword('echoed u:s%3Acret@127.0.0.1 and u:s:cret@127.0.0.1', escaped)).toBe('echoed u:***@127.0.0.1 and u:***@127.0.0.1')
})

test('a URL without a password leaves the refusal as it is', () => {
  expect(withoutPassword('Invalid database number in Redis URL: "abc" (redis://127.0.0.1:6379/abc)', 'redis://127.0.0.1:6379/abc')).toBe(
    'Invalid database number in Redis URL: "abc" (redis://127.0.0.1:6379/abc)',
  )
})
