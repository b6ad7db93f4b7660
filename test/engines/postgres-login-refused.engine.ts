/**
 * The gateway's Postgres password changed under it (rotated by the operator, or by a managed database's policy): its
 * pooled connections are cut, and every new one is refused with 28P01 invalid_password. No hold can be taken, so no
 * provider call is made, and the client is told the database is unavailable: 503 database_unavailable with
 * Retry-After (SPEC §11: "Postgres down → no provider call without a hold (503)"), never a 500 internal_error. The
 * operator is told why, since nothing but a new password ends it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres({ password: 'superuser-secret' })
  mock = startMockProvider()
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

const chat = (url: string, secret: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 }),
  })

test("the gateway's password changed under it (28P01): requests get 503 database_unavailable, the provider is not called", async () => {
  const superUrl = await pg.database('rotated')
  const admin = new Bun.SQL(superUrl)
  await admin.unsafe("CREATE ROLE tg LOGIN PASSWORD 'tg-before'")
  await admin.unsafe('ALTER DATABASE rotated OWNER TO tg')
  await admin.unsafe('GRANT ALL ON SCHEMA public TO tg')
  const url = superUrl.replace(/^postgres:\/\/[^@]+@/, 'postgres://tg:tg-before@')
  const gw = await startTestGateway({ mock, config: { database_url: url } })
  try {
    const { secret } = await gw.userWithKey({ id: 'rotated-user', max_budget: 1 })
    expect((await chat(gw.url, secret)).status).toBe(200)
    await gw.settled()
    await admin.unsafe("ALTER ROLE tg PASSWORD 'tg-after'")
    await admin.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'tg'`)
    await Bun.sleep(300)
    const callsBefore = mock.calls.length
    const answers = []
    for (let i = 0; i < 3; i++) {
      const res = await chat(gw.url, secret)
      const body = (await res.json()) as { error?: { code?: string } }
      answers.push({ status: res.status, code: body.error?.code, retryAfter: res.headers.get('retry-after') })
    }
    expect(answers).toEqual(Array(3).fill({ status: 503, code: 'database_unavailable', retryAfter: '1' }))
    expect(mock.calls.length).toBe(callsBefore)
  } finally {
    await gw.stop()
    await admin.close()
  }
}, 60_000)
