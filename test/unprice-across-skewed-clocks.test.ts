/**
 * Two processes on one database whose clocks differ by 3 s (within the 5 s the price book's CLOCK_SKEW_MS and the
 * README allow for). A model has a price in force and a rise scheduled 1.5 s from now, and the operator unprices it
 * through the process whose clock runs ahead, where the rise has already started. A DELETE that answers "deleted"
 * leaves the model unpriced on every process (402), the one behind too, and the history still ends the price the
 * rise replaced at the rise's start. Runs on Postgres too, through test/engines/stores.engine.ts.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { spawnGateway, tempDir, type SpawnedGateway } from './support/gateway'

const SKEW_MS = 3_000
let mock: MockProvider
/** The process whose clock is SKEW_MS ahead, and the one on time. */
let ahead: SpawnedGateway
let onTime: SpawnedGateway
let dir: string

beforeAll(async () => {
  mock = startMockProvider()
  dir = tempDir('tollgate-unprice-skew-')
  const preload = join(dir, 'skew.ts')
  await Bun.write(preload, 'const real = Date.now; const off = Number(process.env.SKEW_MS ?? 0); Date.now = () => real() + off\n')
  const dbPath = join(dir, 'shared.db')
  onTime = await spawnGateway({ mock, dbPath, config: { cache_ttl_ms: 50 } })
  ahead = await spawnGateway({ mock, dbPath, config: { cache_ttl_ms: 50 }, env: { BUN_OPTIONS: `--preload ${preload}`, SKEW_MS: String(SKEW_MS) } })
}, 60_000)

afterAll(async () => {
  await ahead?.stop()
  await onTime?.stop()
  mock?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const chat = (url: string, secret: string, model: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })

/** A price in force on the process on time, and a rise from 1.5 s on, which the process ahead has in force already. */
async function priceWithRise(model: string) {
  const old = await onTime.admin('POST', '/v1/pricing', { model, input_per_million: 1, output_per_million: 1 })
  const rise = await onTime.admin('POST', '/v1/pricing', {
    model, input_per_million: 100, output_per_million: 100, effective_from: new Date(Date.now() + 1_500).toISOString(),
  })
  expect([old.status, rise.status]).toEqual([201, 201])
  return { old: old.body, rise: rise.body }
}

test('a model unpriced through a process whose clock is 3 s ahead is unpriced on the other process too', async () => {
  const model = 'mock:gpt-skew'
  const { secret } = await onTime.userWithKey({ id: 'skew', max_budget: 100 })
  const { rise } = await priceWithRise(model)

  const deleted = await ahead.admin('DELETE', `/v1/pricing/${model}`)
  expect(deleted.status).toBe(200)
  expect(deleted.body).toMatchObject({ id: rise.id, deleted: true, cancelled_scheduled: 0 })

  await Bun.sleep(100) // past both caches' 50 ms TTL, well before the rise's start
  const onAhead = await chat(ahead.url, secret, model)
  const onTimeAnswer = await chat(onTime.url, secret, model)
  expect(onAhead.status).toBe(402)
  expect([onTimeAnswer.status, (await onTimeAnswer.text()).includes('pricing_required')]).toEqual([402, true])
}, 60_000)

test('the history ends the price the rise replaced at the rise start, not at the unpricing', async () => {
  const model = 'mock:gpt-skew-history'
  const { old, rise } = await priceWithRise(model)
  expect((await ahead.admin('DELETE', `/v1/pricing/${model}`)).status).toBe(200)

  const history = (await onTime.admin('GET', `/v1/pricing/history?model=${model}`)).body.data
  const row = (id: number) => history.find((h: any) => h.id === id)
  expect(row(old.id).effective_until).toBe(rise.effective_from)
  expect(row(rise.id).effective_until).toBe(row(rise.id).deleted_at)
  expect(row(rise.id).deleted_at >= rise.effective_from).toBe(true)
}, 60_000)
