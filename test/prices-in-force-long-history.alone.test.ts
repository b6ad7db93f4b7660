/**
 * The prices in force were read with one statement over the whole price history (src/store/price-sql.ts
 * `current`: every row of `prices` scanned, a correlated subquery per row; `nextChange` a scan too), on the request
 * thread's connection: by the price cache every TOLLGATE_CACHE_TTL_MS (5 s by default), inside the first inference
 * request after it, and by every GET /v1/pricing. The history is kept for ever (every POST /v1/pricing, `prices
 * set`, `prices catalog --apply` adds a row): 1,000 models re-priced 100 times held the thread ~200 ms at each read.
 * They are now one lookup per model through prices_model, and the next change one through prices_starts. Issue
 * 15: no admin query delays a concurrent request by more than 5 ms; bounded as the other admin tests bound a busy
 * machine.
 */
import { expect, test } from 'bun:test'
import { MASTER_KEY, type SpawnedGateway } from './support/gateway'
import { chatStatus, withPriceHistoryGateway } from './support/price-history'
import { worstHoldDuring } from './support/request-thread-hold'

const MODELS = 1_000
const VERSIONS = 100
const HELD_MS = 50
let gw: SpawnedGateway
let secret: string
withPriceHistoryGateway(MODELS, VERSIONS, (started) => {
  ;({ gw, secret } = started)
})

test('GET /v1/pricing over a long price history does not hold the request thread', async () => {
  const list = fetch(`${gw.url}/v1/pricing`, { headers: { authorization: `Bearer ${MASTER_KEY}` } }).then((r) => r.status)
  const worst = await worstHoldDuring(gw.url, list, gw.proc.pid)
  console.log(`GET /v1/pricing: ${worst}`)
  expect(await list).toBe(200)
  expect(worst.held).toBeLessThan(HELD_MS)
}, 60_000)

test('the price cache reloading inside an inference request does not hold the request thread', async () => {
  // Past the cache's TTL (5 s): the next request that looks a price up reads the prices in force again.
  await Bun.sleep(5_500)
  const chat = chatStatus(gw, secret)
  const worst = await worstHoldDuring(gw.url, chat, gw.proc.pid)
  console.log(`chat after the TTL: ${worst}`)
  expect(await chat).toBe(200)
  expect(worst.held).toBeLessThan(HELD_MS)
}, 60_000)
