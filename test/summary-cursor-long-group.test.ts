/**
 * Every next_cursor a list returns is accepted back. `/v1/usage/summary`'s cursor names a (day, user, model) group and
 * the walk's read point, base64url JSON: a user id may be 128 characters and a model 256, so the cursor of such a
 * group runs far past the 256 characters the other lists' cursors are held to (`/docs`: maxLength 2000 here). Held to
 * 256 too, the walk stops with a 400 on the page after that group: the console's "Next" and `usage summary --all`
 * end there, and the groups past it are never shown.
 * Kills: records.ts summaryQuery `cursor: cursorText.max(2000)` → `.max(256)`.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
const user = `team-${'u'.repeat(128 - 5)}`
// Sorts before mock:gpt-mock: the first page ends on its group, whose cursor carries both long names.
const longModel = `mock:${'a'.repeat(200)}`
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  expect((await gw.admin('POST', '/v1/pricing', { model: longModel, input_per_million: 1, output_per_million: 2 })).status).toBe(201)
  const { secret } = await gw.userWithKey({ id: user })
  for (const model of ['mock:gpt-mock', longModel]) {
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(r.status).toBe(200)
    await r.text()
  }
  await gw.settled()
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

test('a walk of limit=1 passes a group of a 128-character user and a 205-character model', async () => {
  const statuses: number[] = []
  const models: string[] = []
  let cursor: string | null = null
  for (let i = 0; i < 5; i++) {
    const r: { status: number; body: any } = await gw.admin('GET', `/v1/usage/summary?limit=1${cursor === null ? '' : `&cursor=${cursor}`}`)
    statuses.push(r.status)
    if (r.status !== 200) break
    models.push(...r.body.data.map((g: any) => g.model))
    cursor = r.body.next_cursor
    if (cursor === null) break
  }
  expect({ statuses, models: models.sort() }).toEqual({ statuses: [200, 200], models: [longModel, 'mock:gpt-mock'].sort() })
})
