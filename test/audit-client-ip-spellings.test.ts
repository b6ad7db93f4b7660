/**
 * One client, one spelling in the request log. A row with a key once kept the address as the socket or a trusted
 * proxy wrote it (IPv4-mapped `::ffff:198.51.100.7`, upper-case IPv6), while the refusals before any key are counted
 * under the normalised source: `/v1/audit?client_ip=` by one spelling missed the rows of the other. Rows are now
 * written with the address in one spelling, and the filter is read in it too.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { clientAddress } from '../src/http/client-source'
import { startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway
let secret: string
beforeAll(async () => {
  gw = await startTestGateway({ config: { trust_proxy: true } })
  secret = (await gw.userWithKey({ id: 'ip-spellings' })).secret
})
afterAll(async () => {
  await gw.stop()
})

const models = (xff: string, key: string) => fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': xff } })

/** [client_ip, key_id set, count] of the rows a filter finds. */
const found = async (clientIp: string) => {
  const res = await gw.admin('GET', `/v1/audit?client_ip=${encodeURIComponent(clientIp)}`)
  expect(res.status).toBe(200)
  return (res.body.data as any[]).map((r) => [r.client_ip, r.key_id !== null, r.count]).sort()
}

test('an IPv4 client seen as IPv4-mapped IPv6 and as IPv4: its keyed rows and refusals under one address', async () => {
  expect((await models('::ffff:198.51.100.7', secret)).status).toBe(200)
  expect((await models('198.51.100.7', 'tg-not-a-real-key')).status).toBe(401)
  await gw.settled()
  const expected = [['198.51.100.7', false, 1], ['198.51.100.7', true, 1]]
  for (const spelling of ['198.51.100.7', '::ffff:198.51.100.7', '::FFFF:C633:6407']) expect(await found(spelling)).toEqual(expected)
})

test('an IPv6 client written in upper case: its keyed row in lower case, found by either spelling', async () => {
  expect((await models('2001:DB8:AA::7', secret)).status).toBe(200)
  expect((await models('2001:db8:aa::7', 'tg-not-a-real-key')).status).toBe(401)
  await gw.settled()
  const expected = [['2001:db8:aa::/64', false, 1], ['2001:db8:aa::7', true, 1]]
  for (const spelling of ['2001:db8:aa::7', '2001:DB8:AA::7', '2001:0db8:00aa:0000:0000:0000:0000:0007']) expect(await found(spelling)).toEqual(expected)
})

test('the one spelling: IPv4 dotted, IPv6 as RFC 5952 writes it, anything else as it came', () => {
  const spellings: Array<[string | null, string | null]> = [
    ['198.51.100.7', '198.51.100.7'],
    ['198.051.100.007', '198.51.100.7'],
    ['0:0:0:0:0:ffff:198.51.100.7', '198.51.100.7'],
    ['2001:0DB8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['FE80::1%eth0', 'fe80::1%eth0'],
    ['unknown', 'unknown'],
    [null, null],
  ]
  for (const [given, kept] of spellings) expect([given, clientAddress(given)]).toEqual([given, kept])
})
