/**
 * SPEC §3: /docs serves the OpenAPI document of the API. The calls that hold nothing (count_tokens,
 * /v1/responses/input_tokens, a stored response's GET/DELETE/cancel/input_items) have two refusals a client must
 * handle: 503 `upstream_busy` (the clients' share of free-call slots taken) and 429 `rate_limit_exceeded` (8 in
 * flight for one key), both with Retry-After (README "Capacity under load"). Their operations named only 403
 * `user_mismatch` / 404, so a client generated from /docs had no word of either.
 */
import { expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

const FREE_CALLS: Array<[string, string]> = [
  ['/v1/messages/count_tokens', 'post'],
  ['/v1/responses/input_tokens', 'post'],
  ['/v1/responses/{id}', 'get'],
  ['/v1/responses/{id}', 'delete'],
  ['/v1/responses/{id}/cancel', 'post'],
  ['/v1/responses/{id}/input_items', 'get'],
]

/** Whether an operation documents a status, as a response entry or in its description (with the error code). */
const documents = (op: any, status: string, code: string) =>
  Object.hasOwn(op.responses ?? {}, status) || (String(op.description ?? '').includes(status) && String(op.description ?? '').includes(code))

test('every free call documents its 503 upstream_busy and its per-key 429 rate_limit_exceeded, with Retry-After', async () => {
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  const undocumented: string[] = []
  for (const [path, method] of FREE_CALLS) {
    const op = doc.paths[path]?.[method]
    expect(op).toBeDefined()
    if (!documents(op, '503', 'upstream_busy')) undocumented.push(`${method} ${path}: 503 upstream_busy`)
    if (!documents(op, '429', 'rate_limit_exceeded')) undocumented.push(`${method} ${path}: 429 rate_limit_exceeded`)
    if (!String(op.description ?? '').includes('Retry-After')) undocumented.push(`${method} ${path}: Retry-After`)
  }
  expect(undocumented).toEqual([])
})
