/**
 * The request log counts requests refused before any key was known under their method, unknown methods as
 * `other` (README, Records), while a row with a key keeps the method it came with. `/v1/audit?method=` finds
 * both spellings: `method=other` lists those refusals (it once looked for `OTHER` and found nothing), and a
 * method the API does not answer finds the keyed rows sent with it and the refusals counted under `other`.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect } from 'node:net'
import { startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway
beforeAll(async () => {
  gw = await startTestGateway({})
})
afterAll(async () => {
  await gw.stop()
})

/** A raw HTTP/1.1 request's status line (fetch refuses methods such as PROPFIND on some runtimes). */
const raw = (method: string, path: string, headers: Record<string, string> = {}) =>
  new Promise<string>((resolve) => {
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
    const socket = connect(Number(new URL(gw.url).port), '127.0.0.1', () =>
      socket.write(`${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${lines}Connection: close\r\n\r\n`),
    )
    let out = ''
    socket.on('data', (d) => (out += d))
    socket.on('close', () => resolve(out.split('\r\n')[0]!))
    socket.on('error', () => resolve(out))
  })

const methodsListed = async (query: string) => {
  const res = await gw.admin('GET', `/v1/audit?${query}`)
  expect(res.status).toBe(200)
  return res.body.data.map((r: any) => r.method).sort()
}

test('/v1/audit?method=other lists the refusals counted under method other', async () => {
  expect(await raw('PROPFIND', '/v1/models')).toContain(' 401 ')
  await gw.settled()
  expect(await methodsListed('status=401')).toEqual(['other'])
  expect(await methodsListed('status=401&method=other')).toEqual(['other'])
  expect(await methodsListed('status=401&method=OTHER')).toEqual(['other'])
})

test('a method the API does not answer finds the keyed rows sent with it and the refusals counted as other', async () => {
  const { secret } = await gw.userWithKey({ id: 'method-filter' })
  const keyed = await raw('PROPFIND', '/v1/models', { authorization: `Bearer ${secret}` })
  expect(keyed).not.toContain(' 401 ')
  await gw.settled()
  expect(await methodsListed('user_id=method-filter')).toEqual(['PROPFIND'])
  expect(await methodsListed('method=propfind')).toEqual(['PROPFIND', 'other'])
  expect(await methodsListed('method=get&user_id=method-filter')).toEqual([])
})
