/**
 * The free calls' operations in /docs (FREE_CALL_REFUSALS) tell a generated client how long to wait: "all with
 * `Retry-After: N`", and the per-key limit "past N in flight for one key". The existing docs test checks only that
 * the words `Retry-After` appear, so a description naming a wait (or a per-key limit) other than what the gateway
 * sends would pass it. Here the documented numbers are those the free-call slots actually refuse with.
 */
import { expect, test } from 'bun:test'
import { GatewayError } from '../src/http/errors'
import { FreeCallSlots } from '../src/providers/free-call-slots'
import { FREE_CALLS } from '../src/providers/upstream-slots'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

const refusal = (take: () => unknown) => {
  try {
    take()
    return null
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error
    return { status: error.status, retryAfter: error.headers?.['retry-after'] }
  }
}

test('the Retry-After and the per-key limit /docs gives for the free calls are those their refusals carry', async () => {
  const slots = new FreeCallSlots(FREE_CALLS)
  let taken = 0
  while (refusal(() => slots.takeFor('k')) === null) taken++
  const perKey = refusal(() => slots.takeFor('k'))!
  expect(perKey.status).toBe(429)
  for (let i = 0; refusal(() => slots.takeFor(`other-${i}`)) === null; i++);
  const busy = refusal(() => slots.takeFor('someone-else'))!
  expect(busy.status).toBe(503)

  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  for (const [path, method] of [['/v1/messages/count_tokens', 'post'], ['/v1/responses/input_tokens', 'post'], ['/v1/responses/{id}', 'get'], ['/v1/responses/{id}/input_items', 'get']] as const) {
    const description = String(doc.paths[path][method].description)
    const waits = [...description.matchAll(/Retry-After: (\d+)/g)].map((m) => m[1])
    const limit = description.match(/past (\d+) in flight for one key/)?.[1]
    expect({ path, waits, limit }).toEqual({ path, waits: [perKey.retryAfter], limit: String(taken) })
    expect(busy.retryAfter).toBe(perKey.retryAfter)
  }
})
