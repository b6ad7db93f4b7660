/**
 * A hold its gateway never settled (killed with the request in flight) is charged in full by the sweeper of the
 * next one, and its usage row records the tokens the hold was priced for, as every other whole-hold charge does:
 * not 0 in and 0 out for a charge of hundreds of micro-USD. The tokens are kept with the hold in the database,
 * where the sweeper reads it; a clamped hold keeps those of the output it was clamped to. Here input costs 2
 * micro-USD a token and output 3, so a row's cost is exactly what its tokens cost.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { spawnGateway, tempDir } from './support/gateway'
import { waitFor } from './support/wait-for'

let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider({ latencyMs: 1 })
})
afterAll(() => mock.stop())

const config = {
  pricing: { 'mock:gpt-mock': { input_per_million: 2, output_per_million: 3 } },
  clamp_output: true,
  clamp_output_floor_tokens: 16,
}
// Each hold carries its own expiry, stamped when it is taken: 1 s, so that the next gateway sweeps it at startup.
const env = { TOLLGATE_RESERVATION_TTL_SEC: '1' }

const chat = (url: string, secret: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 1_000, messages: [{ role: 'user', content: 'Tell me about lighthouses.' }] }),
  }).catch(() => null)

test('kill -9 with requests in flight: the swept holds\' rows record the tokens each hold was priced for, the clamped one its clamped output', async () => {
  const dir = tempDir()
  const dbPath = join(dir, 'crash.db')
  mock.behavior = 'hang'
  const first = await spawnGateway({ mock, config, dbPath, env })
  const whole = await first.userWithKey({ id: 'whole' })
  // $0.001 covers the prompt and a few hundred tokens of output, not the 1,000 asked for: the clamp lowers it.
  const clamped = await first.userWithKey({ id: 'clamped', max_budget: 0.001 })
  const inFlight = [chat(first.url, whole.secret), chat(first.url, clamped.secret)]
  await waitFor(5_000, () => Number(first.query('SELECT count(*) AS n FROM reservations')[0].n) === 2)
  first.proc.kill('SIGKILL')
  await first.proc.exited
  await first.stop()
  await Promise.all(inFlight)
  mock.behavior = 'ok'

  await Bun.sleep(1_100)
  const second = await spawnGateway({ mock, config, dbPath, env })
  try {
    await waitFor(10_000, () => Number(second.query('SELECT count(*) AS n FROM reservations')[0].n) === 0)
    await second.settled()
    const rows = second.query<{ user_id: string; status: string; cost: number; reserved: number; prompt_tokens: number; completion_tokens: number }>(
      'SELECT user_id, status, cost, reserved, prompt_tokens, completion_tokens FROM usage ORDER BY user_id',
    )
    expect(rows.map((r) => [r.user_id, r.status])).toEqual([['clamped', 'expired'], ['whole', 'expired']])
    const [clampedRow, wholeRow] = rows
    for (const row of rows) {
      expect(row.cost).toBe(row.reserved)
      expect(row.prompt_tokens).toBeGreaterThan(0)
      expect(row.cost).toBe(2 * row.prompt_tokens + 3 * row.completion_tokens)
    }
    expect(wholeRow!.completion_tokens).toBe(1_000)
    expect(clampedRow!.completion_tokens).toBeGreaterThan(16)
    expect(clampedRow!.completion_tokens).toBeLessThan(1_000)
  } finally {
    await second.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})
