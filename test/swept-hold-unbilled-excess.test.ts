/**
 * README, Overshoot and Sweeper: a usage past what was charged is logged and counted, so that a provider that
 * over-reports shows up before its bill does. A request whose hold the sweeper charged whole while the provider was
 * still answering (a TTL below the upstream timeout; on Postgres, a replica's sweep after a clock step) is charged
 * nothing more when it ends: what its usage reported past the tokens the sweep's row records went unbilled, and is
 * counted in the unbilled counters all the same. Runs on Postgres too (test/engines/stores.engine.ts).
 *
 * plain:m: 1 µ$ an input token, 2 µ$ an output token; cap-output on, default max output 64.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { waitFor } from './support/wait-for'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    metrics_enabled: true,
    log_level: 'silent',
    reservation_ttl_sec: 1,
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
  },
  (s) => ({ upstream, gw } = s),
)

const completion = (usage: unknown) => ({
  id: 'c1', object: 'chat.completion', created: 1, model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage,
})

async function unbilled(kind: 'input' | 'output'): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text()
  let total = 0
  for (const line of text.split('\n'))
    if (line.startsWith(`tollgate_unbilled_${kind}_tokens_total{`) && line.includes('provider="plain"')) total += Number(line.slice(line.lastIndexOf(' ') + 1))
  return total
}

test('a usage past the hold of a request whose hold was swept first is counted as unbilled', async () => {
  const { secret } = await gw.userWithKey({ id: 'swept-unbilled', max_budget: 1 })
  const before = { input: await unbilled('input'), output: await unbilled('output') }
  const INPUT = 1_000_000
  const OUTPUT = 5_000
  // The provider answers after the hold's TTL (the sweeper runs every TTL and charges it meanwhile).
  upstream.answer(async () => {
    await Bun.sleep(3_500)
    return jsonResponse(completion({ prompt_tokens: INPUT, completion_tokens: OUTPUT, total_tokens: INPUT + OUTPUT }))
  })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', messages: [{ role: 'user', content: 'hello there, how are you?' }] }),
  })
  expect(res.status).toBe(200)
  await res.text()
  await waitFor(5_000, () => Number(gw.query('SELECT count(*) AS n FROM reservations')[0].n) === 0)
  await gw.settled()
  // The ledger: the hold was charged whole, as expired, and recorded as the tokens it priced.
  const rows = gw.query<{ status: string; cost: number; reserved: number; prompt_tokens: number; completion_tokens: number }>(
    `SELECT status, cost, reserved, prompt_tokens, completion_tokens FROM usage WHERE user_id = 'swept-unbilled'`,
  )
  expect(rows.map((r) => r.status)).toEqual(['expired'])
  const [row] = rows
  expect(row!.cost).toBe(row!.reserved)
  expect(row!.completion_tokens).toBe(64)
  // What the provider reported past what was charged went unbilled: it must show where every other such excess does.
  const after = { input: await unbilled('input'), output: await unbilled('output') }
  expect({ input: after.input - before.input, output: after.output - before.output }).toEqual({
    input: INPUT - row!.prompt_tokens,
    output: OUTPUT - row!.completion_tokens,
  })
})
