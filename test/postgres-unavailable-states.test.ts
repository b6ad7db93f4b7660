/**
 * What a Postgres that answers but cannot take a transaction says, by SQLSTATE (Bun's code is
 * ERR_POSTGRES_SERVER_ERROR for all of them), and how the client is answered: out of connections or memory,
 * read-only, its database dropped → 503 database_unavailable; out of disk → 503 database_full with the
 * operator's log line, as SQLite's SQLITE_FULL. None is a 500 internal_error logged as an unhandled bug.
 */
import { expect, test } from 'bun:test'
import { DrizzleQueryError } from 'drizzle-orm'
import { toGatewayError } from '../src/plugins/errors'

const logged: Array<[string, string]> = []
const log = { log: (level: string, msg: string) => void logged.push([level, msg]) } as unknown as Parameters<typeof toGatewayError>[2]
const serverError = (errno: string) => Object.assign(new Error(`SQLSTATE ${errno}`), { name: 'PostgresError', code: 'ERR_POSTGRES_SERVER_ERROR', errno })
const answer = (error: unknown) => {
  const e = toGatewayError('UNKNOWN', error, log)
  return `${e.status} ${e.code} ${e.headers?.['retry-after'] !== undefined}`
}

test('out of connections, out of memory, read-only, database dropped: 503 database_unavailable with Retry-After', () => {
  for (const state of ['53300', '53200', '25006', '57P04']) {
    expect([state, answer(serverError(state))]).toEqual([state, '503 database_unavailable true'])
    expect([state, answer(new DrizzleQueryError('insert', [], serverError(state)))]).toEqual([state, '503 database_unavailable true'])
  }
  expect(logged).toEqual([])
})

test('out of disk (53100): 503 database_full with Retry-After, and the operator is told', () => {
  logged.length = 0
  expect(answer(serverError('53100'))).toBe('503 database_full true')
  expect(logged).toEqual([['error', 'the database disk is full: requests are refused until it has room']])
})

test('another server error is still a 500', () => {
  expect(answer(serverError('XX000'))).toBe('500 internal_error false')
})
