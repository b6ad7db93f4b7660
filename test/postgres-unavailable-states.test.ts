/**
 * What a Postgres that answers but cannot take a transaction says, by SQLSTATE (Bun's code is
 * ERR_POSTGRES_SERVER_ERROR for all of them), and how the client is answered: out of connections, memory or other
 * resources, past a configured limit, read-only, its database dropped, a session closed idle → 503
 * database_unavailable; the gateway's login refused (its password changed under it) → the same, with the operator's
 * log line; a user's rows held by another session past the ledger's wait for them → 503 database_unavailable; out of disk → 503 database_full with the operator's log line, as SQLite's SQLITE_FULL. None is a 500
 * internal_error logged as an unhandled bug.
 */
import { expect, test } from 'bun:test'
import { DrizzleQueryError } from 'drizzle-orm'
import { toGatewayError } from '../src/plugins/errors'
import { UserRowsBusy } from '../src/store/postgres/errors'

const logged: Array<[string, string]> = []
const log = { log: (level: string, msg: string) => void logged.push([level, msg]) } as unknown as Parameters<typeof toGatewayError>[2]
const serverError = (errno: string) => Object.assign(new Error(`SQLSTATE ${errno}`), { name: 'PostgresError', code: 'ERR_POSTGRES_SERVER_ERROR', errno })
const answer = (error: unknown) => {
  const e = toGatewayError('UNKNOWN', error, log)
  return `${e.status} ${e.code} ${e.headers?.['retry-after'] !== undefined}`
}

test('out of connections, memory or resources, past a configured limit, read-only, database dropped, closed idle: 503 database_unavailable with Retry-After', () => {
  // too_many_connections, out_of_memory, insufficient_resources, configuration_limit_exceeded,
  // read_only_sql_transaction, database_dropped, idle_session_timeout.
  for (const state of ['53300', '53200', '53000', '53400', '25006', '57P04', '57P05']) {
    expect([state, answer(serverError(state))]).toEqual([state, '503 database_unavailable true'])
    expect([state, answer(new DrizzleQueryError('insert', [], serverError(state)))]).toEqual([state, '503 database_unavailable true'])
  }
  expect(logged).toEqual([])
})

test("the gateway's login refused (28P01 its password changed, 28000): 503 database_unavailable, and the operator is told", () => {
  for (const state of ['28P01', '28000']) {
    logged.length = 0
    expect([state, answer(serverError(state))]).toEqual([state, '503 database_unavailable true'])
    expect(logged).toEqual([['error', "the database refuses the gateway's login: requests are refused until it is set again"]])
  }
})

test('out of disk (53100): 503 database_full with Retry-After, and the operator is told', () => {
  logged.length = 0
  expect(answer(serverError('53100'))).toBe('503 database_full true')
  expect(logged).toEqual([['error', 'the database disk is full: requests are refused until it has room']])
})

test("a user's rows held by another session past the ledger's wait for them (UserRowsBusy): 503 database_unavailable with Retry-After", () => {
  logged.length = 0
  expect(answer(new UserRowsBusy(serverError('55P03')))).toBe('503 database_unavailable true')
  expect(logged).toEqual([])
})

test('another server error is still a 500', () => {
  expect(answer(serverError('XX000'))).toBe('500 internal_error false')
})
