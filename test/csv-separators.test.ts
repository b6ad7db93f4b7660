/**
 * Mutation guard: the usage CSV export (`GET /v1/usage/csv`) must quote a cell holding the
 * separator (a comma) or a line break, or a spreadsheet reading the export splits that row: its columns shift,
 * and `cost` is read from another column (the bill-payer's view misbills). csv-formula-cells.test.ts only checks
 * cells that also hold a quote, so dropping `,` or `\n` from csv-line.ts's quoting class went unnoticed.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { csvLine } from '../src/records/csv-line'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

const cellOf = (value: unknown) => csvLine({ value }).slice(0, -2)

test('a cell with a comma, a line feed or a carriage return (and no quote) is quoted', () => {
  expect(cellOf('a,b')).toBe('"a,b"')
  expect(cellOf('a\nb')).toBe('"a\nb"')
  expect(cellOf('a\r\nb')).toBe('"a\r\nb"')
})

/** RFC 4180 fields of a CSV text (quoted fields may hold commas, quotes doubled, line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"', i++)
      else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') (row.push(cell), (cell = ''))
    else if (c === '\r' && text[i + 1] === '\n') (row.push(cell), rows.push(row), (row = []), (cell = ''), i++)
    else cell += c
  }
  return rows
}

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

test('an exported row whose text holds a comma and a line break keeps its columns: cost is still the cost', async () => {
  // A row as an import or an older version may have written it (model and endpoint are text the export carries as is).
  gw.exec(
    `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
     VALUES (?, ?, 'kv-csv', NULL, ?, 'imported', ?, 7, 3, 0, 1234567, 0, 'ok')`,
    'kv-csv-1', Date.now(), 'imported:model,with comma', '/v1/chat/completions\nsecond line',
  )
  const res = await fetch(`${gw.url}/v1/usage/csv?user_id=kv-csv`, { headers: gw.master })
  expect(res.status).toBe(200)
  const [header, ...rows] = parseCsv(await res.text())
  expect(rows).toHaveLength(1)
  const row = Object.fromEntries(header!.map((name, i) => [name, rows[0]![i]]))
  expect({ columns: rows[0]!.length, model: row.model, endpoint: row.endpoint, cost: row.cost }).toEqual({
    columns: header!.length,
    model: 'imported:model,with comma',
    endpoint: '/v1/chat/completions\nsecond line',
    cost: '1.234567',
  })
})
