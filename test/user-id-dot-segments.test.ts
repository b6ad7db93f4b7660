/**
 * A user id may hold dots, but not be `.` or `..`: in a path those are dot segments, which every URL parser
 * removes (`%2E%2E` too), so `users block ..` became `PATCH /v1/` (404) and `users usage ..` became `GET /v1/usage`,
 * every user's usage shown as that user's. Such a user could spend but never be blocked, changed or deleted through
 * the admin API, the CLI or the console. They are refused at creation (400), naming the field.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { runTollgate } from './support/cli'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('the ids "." and ".." are refused at creation, by the admin API and the CLI', async () => {
  for (const id of ['.', '..']) {
    const created = await gw.admin('POST', '/v1/users', { id, max_budget: 5 })
    expect(created.status).toBe(400)
    expect(JSON.stringify(created.body)).toContain('id')
    const run = await runTollgate(gw.url, ['users', 'create', id])
    expect(run.code).not.toBe(0)
  }
  expect(((await gw.admin('GET', '/v1/users?limit=1000')).body.data as { id: string }[]).map((u) => u.id)).not.toContain('..')
})

test('ids that only hold dots among other characters are served, and can be administered', async () => {
  for (const id of ['a.b', '...', '.hidden']) {
    expect((await gw.admin('POST', '/v1/users', { id, max_budget: 5 })).status).toBe(201)
    const run = await runTollgate(gw.url, ['users', 'block', id])
    expect(run.code).toBe(0)
  }
})
