/**
 * An install's SQLite file may hold usage rows whose model has a NUL: older versions recorded them before the
 * registry refused such names (see src/cli/migrate.ts, storableRow). The usage summary lists such a group, and
 * when it ends a page its next_cursor names it; that cursor leads to the next page (it was once refused with a 400
 * as "not one this API returned"), so every group after it can still be read page by page (the CLI's
 * `usage summary --all`, any API client). SQLite only: Postgres text cannot hold a NUL (tollgate migrate writes it
 * as U+FFFD), and a cursor with one is a 400 there (test/nul-characters.test.ts).
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
  const row = (model: string, cost: number) =>
    gw.exec(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
       VALUES (?, ?, 'nul-user', NULL, ?, 'mock', '/v1/chat/completions', 1, 1, 0, ?, 0, 'ok')`,
      crypto.randomUUID(), Date.parse('2026-03-01T12:00:00Z'), model, cost,
    )
  row('mock:a', 1_000_000)
  row('mock:b\u0000old', 2_000_000) // as an older version wrote it
  row('mock:c', 4_000_000)
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('the summary pages past a group whose model has a NUL: every group, summing to the totals', async () => {
  const groups: any[] = []
  let cursor: string | null = null
  let totals: any
  do {
    const r: { status: number; body: any } = await gw.admin('GET', `/v1/usage/summary?user_id=nul-user&limit=1${cursor ? `&cursor=${cursor}` : ''}`)
    expect({ status: r.status, error: r.body?.error?.message }).toEqual({ status: 200, error: undefined })
    groups.push(...r.body.data)
    totals = r.body.totals
    cursor = r.body.next_cursor
  } while (cursor)
  expect({ groups: groups.map((g) => g.model), cost: groups.reduce((n, g) => n + g.cost, 0) }).toEqual({
    groups: ['mock:a', 'mock:b\u0000old', 'mock:c'],
    cost: totals.cost,
  })
})

test('tollgate usage summary --all follows those pages to the last group', async () => {
  const run = await runTollgate(gw.url, ['usage', 'summary', '--user', 'nul-user', '--limit', '1', '--all', '--json'])
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
  expect(JSON.parse(run.stdout).data.map((g: any) => g.model)).toEqual(['mock:a', 'mock:b\u0000old', 'mock:c'])
})
