/** The daily usage rollups checked against the raw usage rows they sum, on Postgres (the engine tests). */
import { expect } from 'bun:test'

const RAW_SUMS = 'count(*) AS requests, sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, sum(cached_tokens) AS cached_tokens, sum(cost) AS cost'
const ROLLUP_SUMS = 'sum(requests) AS requests, sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, sum(cached_tokens) AS cached_tokens, sum(cost) AS cost'

/** Each Postgres rollup equals the same groups summed from its raw usage rows (of which there are `requests`, when given). */
export async function expectRollupsEqualRaw(sql: InstanceType<typeof Bun.SQL>, requests?: number) {
  const pairs = [
    [
      `SELECT day, user_id, key_id, model, status, ${ROLLUP_SUMS} FROM usage_daily GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`,
      `SELECT (created_at / 86400000)::int AS day, user_id, coalesce(key_id, '') AS key_id, model, status, ${RAW_SUMS} FROM usage GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`,
    ],
    [
      `SELECT day, model, status, ${ROLLUP_SUMS} FROM usage_daily_models GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      `SELECT (created_at / 86400000)::int AS day, model, status, ${RAW_SUMS} FROM usage GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    ],
    [
      `SELECT day, user_id, status, ${ROLLUP_SUMS} FROM usage_daily_users GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      `SELECT (created_at / 86400000)::int AS day, user_id, status, ${RAW_SUMS} FROM usage GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    ],
  ]
  const asNumbers = (rows: Array<Record<string, unknown>>) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, /^\d+$/.test(String(v)) ? Number(v) : v])))
  for (const [rollup, raw] of pairs) {
    const [r, w] = [asNumbers(await sql.unsafe(rollup!)), asNumbers(await sql.unsafe(raw!))]
    if (requests !== undefined) expect(w.reduce((n, x) => n + Number(x.requests), 0)).toBe(requests)
    expect(r).toEqual(w)
  }
}

