/**
 * The admin routes' queries go through drizzle, which wraps whatever the driver threw in a DrizzleQueryError:
 * the error's meaning is its cause's. A Postgres out of reach (or past its deadline) answers 503
 * database_unavailable there as on the request path, a conflict 503 database_busy, not a 500.
 */
import { expect, test } from 'bun:test'
import { DrizzleQueryError } from 'drizzle-orm'
import { databaseUnavailable } from '../src/http/errors'
import { toGatewayError } from '../src/plugins/errors'

const logged: unknown[] = []
const log = { log: (...args: unknown[]) => void logged.push(args) } as unknown as Parameters<typeof toGatewayError>[2]
const wrapped = (cause: unknown) => new DrizzleQueryError('select 1', [], cause as Error)
const answer = (error: unknown) => {
  const e = toGatewayError('UNKNOWN', error, log)
  return `${e.status} ${e.code}`
}

test("a driver's error wrapped by drizzle is answered as the driver's error", () => {
  expect(answer(wrapped(databaseUnavailable()))).toBe('503 database_unavailable')
  expect(answer(wrapped(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })))).toBe('503 database_unavailable')
  expect(answer(wrapped(Object.assign(new Error('closed'), { code: 'ERR_POSTGRES_CONNECTION_CLOSED' })))).toBe('503 database_unavailable')
  expect(answer(wrapped(Object.assign(new Error('deadlock'), { errno: '40P01' })))).toBe('503 database_busy')
  expect(answer(wrapped(new Error('something else')))).toBe('500 internal_error')
})
