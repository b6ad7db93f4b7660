/**
 * Every route of the admin plugin is refused to other callers at the edge, before its body is read
 * (src/plugins/auth.ts keeps a list of admin paths for that): a new admin route must not be missing from it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { adminRoutes } from '../src/routes/admin'
import { isAdminPath } from '../src/plugins/auth'
import { createServices } from '../src/app'
import { testConfig, tempDir } from './support/gateway'
import { rmSync } from 'node:fs'

let dir: string
let services: ReturnType<typeof createServices>
beforeAll(() => {
  dir = tempDir()
  services = createServices(testConfig({}, dir))
})
afterAll(() => {
  services.writes.close()
  services.db.$client.close()
  rmSync(dir, { recursive: true, force: true })
})

test('every admin route is an admin path at the edge', () => {
  const paths = adminRoutes(services).routes.map((r) => r.path)
  expect(paths.length).toBeGreaterThan(20)
  expect(paths.filter((p) => !isAdminPath(p.replace(/:[a-z]+|\*/g, 'x')))).toEqual([])
})

test('a virtual key calling an admin route gets 403 before its body is read', async () => {
  const { startTestGateway } = await import('./support/gateway')
  const gw = await startTestGateway()
  try {
    const { secret } = await gw.userWithKey({ id: 'not-admin' })
    for (const path of ['/v1/providers', '/v1/alerts', '/v1/alerts/x/redeliver']) {
      const res = await fetch(gw.url + path, { method: path.endsWith('redeliver') ? 'POST' : 'GET', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: path.endsWith('redeliver') ? '{not json' : undefined })
      expect({ path, status: res.status }).toEqual({ path, status: 403 })
    }
  } finally {
    await gw.stop()
  }
})
