/**
 * SPEC §3: /docs is generated "from the same typed schemas that validate requests", and a client
 * written (or generated) from it must be able to send what it says is valid. README ("How money is handled"):
 * "Budgets, like prices, must be whole micro-USD: a `max_budget` of users or keys finer than that (`0.0000004`)
 * is a 400 naming the field, never rounded."
 *
 * The price fields of POST /v1/pricing say so in /docs ("a whole number of micro-USD (at most 6 decimal places)").
 * The `max_budget` of POST/PATCH /v1/users and /v1/keys does not: the document shows `{type: [number, null],
 * minimum: 0, maximum: 1000000000}`, no `multipleOf`, no description, because the whole-micro-USD rule is a zod
 * `refine` (src/pricing/price-amounts.ts `wholeMicrosUsd`), which the OpenAPI generator cannot show. A budget the
 * document accepted (`0.0000004`, or a computed `12.3456789`) is refused with a 400.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

const bodySchema = (doc: any, path: string, method: string) => doc.paths[path][method].requestBody.content['application/json'].schema

/** Whether a JSON Schema number lets a client know that more than 6 decimal places are refused. */
const saysWholeMicros = (schema: any) =>
  schema.multipleOf !== undefined || /micro-USD|decimal places/i.test(String(schema.description ?? ''))

test('a max_budget /docs says is valid is refused; the document must say budgets are whole micro-USD, as it says of prices', async () => {
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  // The price fields carry the rule.
  expect(saysWholeMicros(bodySchema(doc, '/v1/pricing', 'post').properties.input_per_million)).toBe(true)

  // What the gateway does with a budget finer than a micro-USD: a 400 naming max_budget.
  const refused = await gw.admin('POST', '/v1/users', { id: 'docs-budget', max_budget: 0.0000004 })
  expect(refused.status).toBe(400)
  expect(refused.body.error.param).toBe('max_budget')
  await gw.admin('POST', '/v1/users', { id: 'docs-budget-ok' })
  const keyRefused = await gw.admin('POST', '/v1/keys', { user_id: 'docs-budget-ok', max_budget: 12.3456789 })
  expect(keyRefused.status).toBe(400)

  // What /docs says of the same field on each route that takes it.
  const documented: Record<string, boolean> = {}
  for (const [path, method] of [['/v1/users', 'post'], ['/v1/users/{id}', 'patch'], ['/v1/keys', 'post'], ['/v1/keys/{id}', 'patch']] as const) {
    const schema = bodySchema(doc, path, method).properties.max_budget
    // The schema accepts the refused value: a number, within [minimum, maximum].
    expect(schema.minimum <= 0.0000004 && 0.0000004 <= schema.maximum).toBe(true)
    documented[`${method.toUpperCase()} ${path}`] = saysWholeMicros(schema)
  }
  expect(documented).toEqual({ 'POST /v1/users': true, 'PATCH /v1/users/{id}': true, 'POST /v1/keys': true, 'PATCH /v1/keys/{id}': true })
})
