/**
 * The price cache (src/pricing/price-book.ts) held every price in force in one Map, built again whole from a read
 * of every model's row each TOLLGATE_CACHE_TTL_MS (5 s), changed or not, inside the first inference request after
 * the TTL (synchronous on SQLite); GET /v1/pricing read and sorted every price in force for each page, even
 * `?limit=1`. With tens of thousands of priced models (one row per fine-tune, `ft:gpt-4.1:org:customer:id`; a
 * catalog of every provider's models), 50,000 held the request thread ~140 ms at each reload and ~120 ms per page.
 * A request now looks up its own model (once a TTL), and a page reads a page. Issue 15: no admin query delays a
 * concurrent request by more than 5 ms; bounded at 50 ms for a busy machine, as the other admin tests bound it.
 * prices-in-force-long-history.alone.test.ts bounds the same for long histories.
 */
import { expect, test } from 'bun:test'
import { MASTER_KEY, type SpawnedGateway } from './support/gateway'
import { chatStatus, withPriceHistoryGateway } from './support/price-history'
import { worstHoldDuring } from './support/request-thread-hold'

const MODELS = 50_000
const VERSIONS = 1
const HELD_MS = 50
let gw: SpawnedGateway
let secret: string
withPriceHistoryGateway(MODELS, VERSIONS, (started) => {
  ;({ gw, secret } = started)
})

test('one page of GET /v1/pricing over 50,000 priced models does not hold the request thread', async () => {
  const list = fetch(`${gw.url}/v1/pricing?limit=1`, { headers: { authorization: `Bearer ${MASTER_KEY}` } }).then((r) => r.status)
  const worst = await worstHoldDuring(gw.url, list, gw.proc.pid)
  console.log(`${MODELS} priced models, GET /v1/pricing?limit=1: ${worst}`)
  expect(await list).toBe(200)
  expect(worst.held).toBeLessThan(HELD_MS)
}, 60_000)

test('an inference request after the price cache TTL does not hold the request thread', async () => {
  // Past the cache TTL (5 s): the next request that looks its price up reads it again.
  await Bun.sleep(5_500)
  const chat = chatStatus(gw, secret)
  const worst = await worstHoldDuring(gw.url, chat, gw.proc.pid)
  console.log(`${MODELS} priced models, chat after the TTL: ${worst}`)
  expect(await chat).toBe(200)
  expect(worst.held).toBeLessThan(HELD_MS)
}, 60_000)
