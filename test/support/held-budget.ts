import { expect } from 'bun:test'
import type { TestGateway } from './gateway'

/**
 * cap-output's promise for one request (SPEC §6: `spend <= max_budget`): a probe user with $1 (or `probeBudget`)
 * sends it and reads its hold from X-Budget-Remaining; a user whose max_budget is exactly that hold sends it again.
 * That user's spend and budget (µ$) are returned once settled, with both answers: whatever the provider then
 * bills, the hold must have covered it. `headers` go with both requests. `body` may be a function of the user sending
 * it, for a body naming state only that user may name (an audio answer's id).
 */
export async function spendAtHeldBudget(
  gw: TestGateway, path: string, body: unknown | ((userId: string) => unknown), name: string,
  { headers = {}, probeBudget = 1 }: { headers?: Record<string, string>; probeBudget?: number } = {},
) {
  const send = (secret: string, userId: string) => {
    const sent = typeof body === 'function' ? body(userId) : body
    return fetch(gw.url + path, { method: 'POST', headers: { ...headers, authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(sent) })
  }
  const probe = await gw.userWithKey({ id: `${name}-probe`, max_budget: probeBudget })
  const first = await send(probe.secret, `${name}-probe`)
  await first.arrayBuffer()
  expect(first.status).toBe(200)
  const held = Math.round((probeBudget - Number(first.headers.get('x-budget-remaining'))) * 1e6)
  const { secret } = await gw.userWithKey({ id: `${name}-tight`, max_budget: held / 1e6 })
  const second = await send(secret, `${name}-tight`)
  await second.arrayBuffer()
  await gw.settled()
  const user = (await gw.admin('GET', `/v1/users/${name}-tight`)).body
  return { first, second, spend: Math.round(user.spend * 1e6), budget: Math.round(user.max_budget * 1e6) }
}
