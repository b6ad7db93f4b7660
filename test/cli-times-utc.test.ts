/**
 * The CLI reads a time with no zone as UTC, as every day in the records is (SPEC §2: calendar-aligned UTC; the
 * console's "Since (UTC)" fields): `--since 2026-03-01T00:00 --until 2026-03-02T00:00` is the UTC day 2026-03-01
 * whatever the shell's TZ, so the report sums the rows the console shows for the same input, and agrees with the
 * bare dates `--since 2026-03-01 --until 2026-03-02`. `keys --expires` reads its time the same way; a spelling
 * Date.parse would read in the local zone (`2026/03/01`) is refused rather than guessed at.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { runTollgate } from './support/cli'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } } } })
  const row = (at: string, cost: number) =>
    gw.exec(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
       VALUES (?, ?, 'tz-user', NULL, 'mock:gpt-mock', 'mock', '/v1/chat/completions', 1, 1, 0, ?, 0, 'ok')`,
      crypto.randomUUID(), Date.parse(at), cost,
    )
  row('2026-02-28T22:00:00Z', 1_000_000) // the UTC day before
  row('2026-03-01T02:00:00Z', 2_000_000) // in the UTC day 2026-03-01
  row('2026-03-01T23:00:00Z', 4_000_000) // in the UTC day 2026-03-01
  row('2026-03-02T03:00:00Z', 8_000_000) // the UTC day after
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test.each(['UTC', 'America/New_York', 'Asia/Tokyo'])('usage summary --since/--until without a zone is the UTC day in TZ=%s', async (tz) => {
  const ui = await gw.admin('GET', '/v1/usage/summary?user_id=tz-user&since=2026-03-01T00:00:00Z&until=2026-03-02T00:00:00Z')
  expect(ui.body.totals).toMatchObject({ requests: 2, cost: 6 })
  const run = await runTollgate(gw.url, ['usage', 'summary', '--user', 'tz-user', '--since', '2026-03-01T00:00', '--until', '2026-03-02T00:00', '--json'], { TZ: tz })
  expect(run.code).toBe(0)
  const out = JSON.parse(run.stdout)
  expect({ totals: { requests: out.totals.requests, cost: out.totals.cost }, days: out.data.map((r: any) => r.day) }).toEqual({
    totals: { requests: 2, cost: 6 },
    days: ['2026-03-01'],
  })
})

test.each(['America/New_York', 'Asia/Tokyo'])('a bare date and midnight without a zone are the same instant in TZ=%s', async (tz) => {
  const summary = async (since: string, until: string) => {
    const run = await runTollgate(gw.url, ['usage', 'summary', '--user', 'tz-user', '--since', since, '--until', until, '--json'], { TZ: tz })
    expect(run.code).toBe(0)
    return JSON.parse(run.stdout).totals
  }
  expect(await summary('2026-03-01', '2026-03-02')).toEqual(await summary('2026-03-01T00:00', '2026-03-02T00:00:00'))
})

test('keys --expires without a zone is UTC in any TZ; an offset is kept', async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'tz-key-owner' })).status).toBe(201)
  const expires = async (value: string, tz: string) => {
    const run = await runTollgate(gw.url, ['keys', 'create', 'tz-key-owner', '--expires', value, '--json'], { TZ: tz })
    expect(run.code).toBe(0)
    return Date.parse(JSON.parse(run.stdout).expires_at)
  }
  expect(await expires('2099-01-31T09:30', 'America/New_York')).toBe(Date.parse('2099-01-31T09:30:00Z'))
  expect(await expires('2099-01-31T09:30', 'Asia/Tokyo')).toBe(Date.parse('2099-01-31T09:30:00Z'))
  expect(await expires('2099-01-31T09:30+01:00', 'Asia/Tokyo')).toBe(Date.parse('2099-01-31T08:30:00Z'))
})

test('a time in a spelling read in the local zone is refused as a command-line mistake', async () => {
  for (const value of ['2026/03/01', 'March 1, 2026']) {
    const run = await runTollgate(gw.url, ['usage', 'summary', '--since', value], { TZ: 'America/New_York' })
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 2, stderr: expect.stringContaining('--since must be an ISO date') })
  }
})

test('a day its month does not have is refused, not rolled into the next month', async () => {
  for (const [args, option] of [
    [['usage', 'summary', '--since', '2026-02-30'], '--since'],
    [['usage', 'summary', '--until', '2026-04-31T10:00'], '--until'],
    [['keys', 'create', 'tz-key-owner', '--expires', '2099-02-29T00:00'], '--expires'],
  ] as const) {
    const run = await runTollgate(gw.url, [...args])
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 2, stderr: expect.stringContaining(`${option} must be an ISO date`) })
  }
  // A leap day is a day.
  const run = await runTollgate(gw.url, ['usage', 'summary', '--since', '2028-02-29', '--json'])
  expect(run.code).toBe(0)
})
