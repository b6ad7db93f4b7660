/**
 * The master key is compared whole (src/keys/secret.ts createMasterKeyCheck: fixed-length digests compared in
 * constant time). A credential that merely starts with the master key, or is a prefix of it, is no master key:
 * it is refused 401 on the admin API, never admitted as the master.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway
beforeAll(async () => {
  gw = await startTestGateway()
})
afterAll(() => gw.stop())

const users = (credential: string, header: 'bearer' | 'x-api-key' = 'bearer') =>
  fetch(`${gw.url}/v1/users`, { headers: header === 'bearer' ? { authorization: `Bearer ${credential}` } : { 'x-api-key': credential } }).then((r) => r.status)

test('the master key itself is admitted', async () => {
  expect(await users(MASTER_KEY)).toBe(200)
})

test('the master key with characters added, or cut short, is refused 401', async () => {
  const near = [MASTER_KEY + 'x', MASTER_KEY + MASTER_KEY, MASTER_KEY.slice(0, -1), MASTER_KEY.slice(0, 8), MASTER_KEY.slice(0, 16)]
  const statuses = []
  for (const candidate of near) statuses.push(await users(candidate), await users(candidate, 'x-api-key'))
  expect(statuses).toEqual(Array(near.length * 2).fill(401))
})
