import { expect } from 'bun:test'
import type { TestGateway } from './gateway'

export interface UsageRow {
  status: string
  cost: number
  reserved: number
  prompt_tokens: number
  completion_tokens: number
}

/**
 * Runs one request for `userId` and returns the usage row it wrote, after checking that it wrote exactly
 * one, that nothing is left reserved or held, that the user's spend moved by the row's cost, and that the
 * gateway still answers.
 */
export async function settledRow(gw: TestGateway, userId: string, run: () => Promise<void>): Promise<UsageRow> {
  await gw.settled()
  const before = (await gw.admin('GET', `/v1/users/${userId}`)).body
  const rows = gw.query('SELECT count(*) AS n FROM usage')[0].n
  await run()
  await gw.settled()
  const after = (await gw.admin('GET', `/v1/users/${userId}`)).body
  expect(gw.query('SELECT count(*) AS n FROM usage')[0].n).toBe(rows + 1)
  const row = gw.query<UsageRow>('SELECT status, cost, reserved, prompt_tokens, completion_tokens FROM usage ORDER BY id DESC LIMIT 1')[0]!
  expect(after.reserved).toBe(0)
  expect(gw.query('SELECT count(*) AS n FROM reservations')[0].n).toBe(0)
  expect(Math.round((after.spend - before.spend) * 1e6)).toBe(row.cost)
  expect((await fetch(`${gw.url}/health`)).status).toBe(200)
  return row
}
