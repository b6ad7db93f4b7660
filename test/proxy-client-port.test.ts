/**
 * Behind a trusted proxy the client is an IP address (SPEC §7 "per client IP"). A proxy that writes the
 * client's address with its source port (Azure's load balancers and App Gateway do: `1.2.3.4:56789`,
 * `[2001:db8::1]:443`) must not turn every new connection into a new client, and a right-most entry that is
 * no address at all must not be a client of its own per string.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { UNPARSEABLE_SOURCE } from '../src/http/client-source'
import { startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway
/** No rate limit: refusals by an unknown key, grouped per source in the request log. */
let logged: TestGateway
beforeAll(async () => {
  gw = await startTestGateway({ config: { rate_limit_per_min: 3, trust_proxy: true } })
  logged = await startTestGateway({ config: { trust_proxy: true } })
})
afterAll(async () => {
  await gw?.stop()
  await logged?.stop()
})

const health = (xff: string) => fetch(`${gw.url}/health`, { headers: { 'x-forwarded-for': xff } }).then((r) => r.status)

test('IPv4 with a port: one client whatever its source port', async () => {
  const statuses: number[] = []
  for (let port = 40001; port <= 40006; port++) statuses.push(await health(`192.0.2.50:${port}`))
  expect(statuses).toEqual([200, 200, 200, 429, 429, 429])
})

test('bracketed IPv6 with a port: counted by its /64 like the bare address', async () => {
  const statuses: number[] = []
  for (let i = 1; i <= 6; i++) statuses.push(await health(`[2001:db8:5:6::${i}]:${50000 + i}`))
  expect(statuses).toEqual([200, 200, 200, 429, 429, 429])
})

test('bracketed IPv6 without a port, and the bare address: one client', async () => {
  const statuses: number[] = []
  for (const xff of ['[2001:db8:5:7::1]', '2001:db8:5:7::2', '[2001:db8:5:7::3]:443', '2001:db8:5:7::4']) statuses.push(await health(xff))
  expect(statuses).toEqual([200, 200, 200, 429])
})

test('entries that are no address share one client: new strings are no new allowance', async () => {
  const statuses: number[] = []
  for (const xff of ['unknown', 'garbage-1', '1.2.3.400', 'garbage-2', '[nonsense]:80', '999.1.1.1:80']) statuses.push(await health(xff))
  expect(statuses).toEqual([200, 200, 200, 429, 429, 429])
})

test('refusals from one address on many ports are one row of the request log, under the address', async () => {
  const knock = (xff: string) => fetch(`${logged.url}/v1/models`, { headers: { authorization: 'Bearer tg-not-a-real-key', 'x-forwarded-for': xff } })
  for (let port = 41001; port <= 41005; port++) expect((await knock(`192.0.2.60:${port}`)).status).toBe(401)
  for (const xff of ['junk-a', 'junk-b']) expect((await knock(xff)).status).toBe(401)
  await logged.settled()
  const rows = async (ip: string) => ((await logged.admin('GET', `/v1/audit?client_ip=${ip}`)).body.data as any[]).map((r) => [r.client_ip, r.count])
  expect(await rows('192.0.2.60')).toEqual([['192.0.2.60', 5]])
  expect(await rows(UNPARSEABLE_SOURCE)).toEqual([[UNPARSEABLE_SOURCE, 2]])
})
