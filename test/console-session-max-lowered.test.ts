/**
 * README (console, sign-in): "A session ends … TOLLGATE_CONSOLE_SESSION_MAX_HOURS (12) after sign-in". An
 * operator who lowers it (after a lost laptop, say) and restarts expects every session older than the new
 * limit to end, as the idle limit already applies as configured now; one younger than it ends at the new limit,
 * and says so. The maximum was read only from the `expires_at` written at sign-in, under the old setting, so a
 * 5-hour-old admin session kept working for 7 more hours after the operator set the limit to 1 hour.
 */
import { afterEach, expect, test } from 'bun:test'
import { join } from 'node:path'
import { rmSync } from 'node:fs'
import { MASTER_KEY, startTestGateway, tempDir, type TestGateway } from './support/gateway'

const HOUR = 3_600_000
let gw: TestGateway | undefined
let dir: string | undefined
afterEach(async () => {
  await gw?.stop()
  gw = undefined
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** Signs in under a 12-hour limit, as long ago as `age` (and in use ever since: last seen now), and restarts under `maxHours`. */
async function sessionSignedInAgo(age: number, maxHours: number): Promise<{ cookie: string; signedInAt: number }> {
  dir = tempDir()
  const config = { db: join(dir, 'shared.db'), console_session_max_hours: 12, console_session_idle_min: 24 * 60 }
  gw = await startTestGateway({ config })
  const res = await fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gw.url },
    body: JSON.stringify({ key: MASTER_KEY }),
  })
  expect(res.status).toBe(200)
  const cookie = res.headers.get('set-cookie')!.split(';', 1)[0]!
  gw.exec('UPDATE console_sessions SET created_at = created_at - ?, expires_at = expires_at - ?', age, age)
  const signedInAt = Number(gw.query('SELECT created_at FROM console_sessions')[0].created_at)
  expect((await fetch(`${gw.url}/v1/users`, { headers: { cookie } })).status).toBe(200)
  await gw.stop()
  gw = await startTestGateway({ config: { ...config, console_session_max_hours: maxHours } })
  return { cookie, signedInAt }
}

test('a session signed in longer ago than a lowered console_session_max_hours ends', async () => {
  const { cookie } = await sessionSignedInAgo(5 * HOUR, 1)
  expect((await fetch(`${gw!.url}/v1/users`, { headers: { cookie } })).status).toBe(401)
})

test('a session younger than a lowered console_session_max_hours ends at the new limit, and says so', async () => {
  const { cookie, signedInAt } = await sessionSignedInAgo(5 * HOUR, 6)
  expect((await fetch(`${gw!.url}/v1/users`, { headers: { cookie } })).status).toBe(200)
  const session = (await (await fetch(`${gw!.url}/v1/session`, { headers: { cookie } })).json()) as { kind: string; expires_at: string }
  expect(session.kind).toBe('admin')
  expect(Date.parse(session.expires_at)).toBe(signedInAt + 6 * HOUR)
})
