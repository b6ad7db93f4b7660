/**
 * `prices catalog --apply` writes a catalog's dated change (gemini-3.6-flash, 2027-01-01) over the row it
 * replaces: the one in force just before that date. When the operator has scheduled a row between now and then
 * (here: from tomorrow, with a per-request fee and a media part's bound the catalog does not price), that is the
 * scheduled row, not the one in force now, so the fee and the bound still apply from the catalog's date on.
 *
 * The pinned catalog's change is dated, so the test runs on a clock set before it (`setSystemTime`: the
 * gateway, in this process, and the command, run in it too, read the same clock), not on today's date: once
 * that date passed, the scenario would be gone.
 */
import { afterAll, beforeAll, expect, setSystemTime, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, mockProviders, startTestGateway, type TestGateway } from './support/gateway'
import { adminApi } from '../src/cli/admin-api'
import { parseArgs } from '../src/cli/args'
import { catalogCommand } from '../src/cli/catalog-command'

const CHANGE = Date.parse('2027-01-01T00:00:00Z')
const TODAY = new Date('2026-11-15T12:00:00Z')

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  setSystemTime(TODAY)
  mock = startMockProvider()
  const { mock: openai } = mockProviders(mock)
  gw = await startTestGateway({
    mock,
    config: {
      providers: { goo: { ...openai, catalog: 'google' } },
      // The catalog's price now: nothing to change for today.
      pricing: { 'goo:gemini-3.6-flash': { input_per_million: 0.75, output_per_million: 3.75, cached_input_per_million: 0.075 } },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
  setSystemTime()
})

test('the catalog\'s dated row keeps what the operator scheduled before it (per_request, media_part_tokens)', async () => {
  const tomorrow = Date.now() + 86_400_000
  expect(tomorrow).toBe(TODAY.getTime() + 86_400_000) // the clock is the test's, not the machine's
  const scheduled = await gw.admin('POST', '/v1/pricing', {
    model: 'goo:gemini-3.6-flash', input_per_million: 0.75, output_per_million: 3.75, cached_input_per_million: 0.075,
    per_request: 0.002, media_part_tokens: 50_000, effective_from: new Date(tomorrow).toISOString(),
  })
  expect(scheduled.status).toBe(201)

  await catalogCommand(adminApi({ TOLLGATE_URL: gw.url, TOLLGATE_MASTER_KEY: MASTER_KEY }), parseArgs(['--apply', '--json'], new Set(['apply', 'json'])))

  // The row the price book applies on 2027-01-02, by its history.
  const at = CHANGE + 86_400_000
  const history = (await gw.admin('GET', '/v1/pricing/history?model=goo:gemini-3.6-flash')).body.data as any[]
  const inForce = history.filter((r) => !r.deleted_at && Date.parse(r.effective_from) <= at && (r.effective_until === null || Date.parse(r.effective_until) > at))
  expect(inForce).toHaveLength(1)
  expect(inForce[0]).toMatchObject({ input_per_million: 1.5, output_per_million: 7.5 }) // the catalog's dated change was written
  // Carried from the row scheduled for tomorrow, not from the row in force today (which has neither).
  expect(inForce[0].per_request).toBe(0.002)
  expect(inForce[0].media_part_tokens).toBe(50_000)
})
