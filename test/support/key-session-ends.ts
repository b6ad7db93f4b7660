import { expect } from 'bun:test'
import type { TestGateway } from './gateway'

/**
 * A key's console session ended by blocking its user, or by its key expiring, with no request of the session
 * meanwhile (the laptop shut), stays ended once the user is unblocked or the key given a later expiry: README
 * says such a session ends. The same scenarios on either store.
 */
export async function keySessionOf(gw: TestGateway, secret: string): Promise<string> {
  const res = await fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gw.url },
    body: JSON.stringify({ key: secret }),
  })
  expect(res.status).toBe(200)
  return res.headers.get('set-cookie')!.split(';', 1)[0]!
}

const readOwnKey = async (gw: TestGateway, cookie: string) => (await fetch(`${gw.url}/v1/key`, { headers: { cookie } })).status

export async function blockedThenUnblocked(gw: TestGateway, userId: string): Promise<void> {
  const { secret } = await gw.userWithKey({ id: userId })
  const cookie = await keySessionOf(gw, secret)
  expect(await readOwnKey(gw, cookie)).toBe(200)
  expect((await gw.admin('PATCH', `/v1/users/${userId}`, { blocked: true })).status).toBe(200)
  expect((await gw.admin('PATCH', `/v1/users/${userId}`, { blocked: false })).status).toBe(200)
  expect(await readOwnKey(gw, cookie)).toBe(401)
}

export async function expiredThenExtended(gw: TestGateway, userId: string): Promise<void> {
  const { secret, keyId } = await gw.userWithKey({ id: userId }, { expires_at: new Date(Date.now() + 1500).toISOString() })
  const cookie = await keySessionOf(gw, secret)
  expect(await readOwnKey(gw, cookie)).toBe(200)
  await Bun.sleep(2000)
  expect((await gw.admin('PATCH', `/v1/keys/${keyId}`, { expires_at: new Date(Date.now() + 3_600_000).toISOString() })).status).toBe(200)
  expect(await readOwnKey(gw, cookie)).toBe(401)
}

/** A key extended before it expired keeps its session: only an ended one is removed. */
export async function extendedInTime(gw: TestGateway, userId: string): Promise<void> {
  const { secret, keyId } = await gw.userWithKey({ id: userId }, { expires_at: new Date(Date.now() + 60_000).toISOString() })
  const cookie = await keySessionOf(gw, secret)
  expect((await gw.admin('PATCH', `/v1/keys/${keyId}`, { expires_at: new Date(Date.now() + 3_600_000).toISOString() })).status).toBe(200)
  expect(await readOwnKey(gw, cookie)).toBe(200)
}
