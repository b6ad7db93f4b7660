/**
 * Mutation guard: trust_proxy is off by default (README's table), and then no
 * X-Forwarded-* header is believed. The console's sign-in compares the request's Origin with the host the browser
 * addressed: without a trusted proxy that is `Host`, never `X-Forwarded-Host`, which any client sets. A sign-in
 * whose Origin matches only the forged X-Forwarded-Host is refused 403 origin_mismatch, and so is a forged
 * X-Forwarded-Proto's https.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway
beforeAll(async () => {
  gw = await startTestGateway({ config: { console_sign_ins_per_min: 1000 } })
})
afterAll(async () => {
  await gw.stop()
})

async function signIn(headers: Record<string, string>) {
  const res = await fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ key: MASTER_KEY }),
  })
  const body: any = await res.json()
  return { status: res.status, code: body?.error?.code ?? null, cookie: res.headers.get('set-cookie') }
}

test('our own Origin signs in (the control)', async () => {
  expect((await signIn({ origin: gw.url })).status).toBe(200)
})

test('an Origin matching only a forged X-Forwarded-Host is refused while trust_proxy is off', async () => {
  const r = await signIn({ origin: 'http://evil.example', 'x-forwarded-host': 'evil.example' })
  expect({ status: r.status, code: r.code, cookie: r.cookie }).toEqual({ status: 403, code: 'origin_mismatch', cookie: null })
})

test('an https Origin matching only a forged X-Forwarded-Proto is refused while trust_proxy is off', async () => {
  const r = await signIn({ origin: gw.url.replace('http:', 'https:'), 'x-forwarded-proto': 'https' })
  expect({ status: r.status, code: r.code, cookie: r.cookie }).toEqual({ status: 403, code: 'origin_mismatch', cookie: null })
})
