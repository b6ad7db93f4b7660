/**
 * ResponseOwners.firstNotOwned (59173dac) and findItems: "As `find`, one not owned is refused 503 while a write of it
 * may be pending". But `find` answered an id with a NUL at once as not stored (404): no such id
 * is ever recorded (ResponseOwners.record drops it; Postgres cannot hold it), so no write of it can be pending.
 * firstNotOwned skipped looking such an id up, then sent it through `missing()` like any id not found: while the
 * stored ids take no writes (another connection holding the SQLite file's write lock, a backup, an index build on
 * Postgres) a chat message naming such an audio id (or a Responses item reference) was 503 database_busy, which told the client to retry an id that
 * can never exist, where without the lock it is 404 audio_not_found.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { require_pricing: false } })
  ;({ secret } = await gw.userWithKey({ id: 'nul-audio', max_budget: 10 }))
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

/** Takes the file's write lock from another connection now, and lets it go after `ms`. */
function holdWriteLock(ms: number): Promise<void> {
  const other = new Database(gw.dbPath)
  other.exec('BEGIN IMMEDIATE')
  return Bun.sleep(ms).then(() => {
    other.exec('ROLLBACK')
    other.close()
  })
}

const namingAudio = (id: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 5, messages: [{ role: 'assistant', audio: { id } }, { role: 'user', content: 'hi' }] }),
  })
const outcome = async (res: Response) => ({ status: res.status, code: ((await res.json()) as any).error?.code })

test('an audio id with a NUL, which can never be stored, is 404 audio_not_found whether or not the stored ids take writes', async () => {
  const free = await outcome(await namingAudio('audio_\u0000x'))
  await gw.settled()
  await Bun.sleep(50)
  const held = holdWriteLock(600)
  const locked = await outcome(await namingAudio('audio_\u0000x'))
  await held
  expect(mock.calls).toHaveLength(0)
  expect({ free, locked }).toEqual({ free: { status: 404, code: 'audio_not_found' }, locked: { status: 404, code: 'audio_not_found' } })
}, 30_000)

// The same pattern in ResponseOwners.findItems, which 59173dac copied: README ("Rows Postgres refuses for what they
// hold") says an item id a Responses request continues "cannot have one (404, as no row can)".
test('a Responses item reference with a NUL is 404 item_not_found whether or not the stored ids take writes', async () => {
  const naming = () =>
    fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', max_output_tokens: 5, input: [{ type: 'item_reference', id: 'msg_\u0000x' }, { role: 'user', content: 'hi' }] }),
    })
  const free = await outcome(await naming())
  await gw.settled()
  await Bun.sleep(50)
  const held = holdWriteLock(600)
  const locked = await outcome(await naming())
  await held
  expect(mock.calls).toHaveLength(0)
  expect({ free, locked }).toEqual({ free: { status: 404, code: 'item_not_found' }, locked: { status: 404, code: 'item_not_found' } })
}, 30_000)
