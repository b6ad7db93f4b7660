/**
 * Mutation guard: sign-in needs this site's `Origin` (no login CSRF), and
 * every change made with a console cookie needs it too (README "Admin console"). The Origin must be exactly
 * `<scheme>://<host>`: a site whose name merely starts with ours (`https://console.example.attacker.example`, or
 * another port of it) is another site. And the host compared is the forwarded one only behind a trusted proxy
 * (src/console/session-auth.ts isSameOrigin): without TOLLGATE_TRUST_PROXY an X-Forwarded-Host is anyone's to send.
 * No test sent an Origin that begins with ours, nor an X-Forwarded-Host to a gateway that trusts no proxy.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'

let proxied: TestGateway
let direct: TestGateway

beforeAll(async () => {
  proxied = await startTestGateway({ config: { trust_proxy: true, console_sign_ins_per_min: 1000 } })
  direct = await startTestGateway({ config: { console_sign_ins_per_min: 1000 } })
})
afterAll(async () => {
  await proxied.stop()
  await direct.stop()
})

// What a TLS-terminating proxy in front of the gateway passes on for https://console.example (default port).
const forwarded = { 'x-forwarded-host': 'console.example', 'x-forwarded-proto': 'https' }

const signIn = (gw: TestGateway, headers: Record<string, string>) =>
  fetch(`${gw.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ key: MASTER_KEY }) })

const codeOf = async (res: Response) => ({ status: res.status, code: ((await res.json()) as any).error?.code })

test('a sign-in from a site whose origin only begins with ours is refused 403 origin_mismatch', async () => {
  const ours = await signIn(proxied, { ...forwarded, origin: 'https://console.example' })
  expect(ours.status).toBe(200)
  const got = []
  for (const origin of ['https://console.example.attacker.example', 'https://console.example:8443', 'https://console.example-attacker.example'])
    got.push(await codeOf(await signIn(proxied, { ...forwarded, origin })))
  expect(got).toEqual(Array(3).fill({ status: 403, code: 'origin_mismatch' }))
})

test('a change with the cookie and its CSRF token, from a site whose origin only begins with ours, is refused 403 csrf_failed', async () => {
  const res = await signIn(proxied, { ...forwarded, origin: 'https://console.example' })
  const csrf = ((await res.json()) as any).csrf_token as string
  const cookie = res.headers.get('set-cookie')!.split(';', 1)[0]!
  const post = (origin: string, id: string) =>
    fetch(`${proxied.url}/v1/users`, {
      method: 'POST',
      headers: { ...forwarded, cookie, origin, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ id }),
    })
  expect(await codeOf(await post('https://console.example.attacker.example', 'origin-prefix'))).toEqual({ status: 403, code: 'csrf_failed' })
  expect((await proxied.admin('GET', '/v1/users/origin-prefix')).status).toBe(404)
  expect((await post('https://console.example', 'origin-exact')).status).toBe(201)
})

test('without a trusted proxy, an X-Forwarded-Host naming the sender\'s own site does not make its Origin ours', async () => {
  const got = await codeOf(await signIn(direct, { 'x-forwarded-host': 'attacker.example', origin: 'http://attacker.example' }))
  expect(got).toEqual({ status: 403, code: 'origin_mismatch' })
  expect((await signIn(direct, { origin: direct.url })).status).toBe(200)
})
