/**
 * SPEC §3 lists the refusals every client of a billed route must handle: 402 `pricing_required` and
 * `budget_exceeded`, 403 `user_mismatch` / `model_not_allowed`, 429 `rate_limit_exceeded`, 502/504 upstream failure
 * or timeout. /docs is what a developer codes against: as the free calls' operations name theirs
 * (test/docs-free-call-refusals.test.ts), the billed operations, the ones that spend money, name these, so that a
 * client generated from /docs/json, or written from Swagger UI, knows a gateway answers 402 when the budget is spent.
 */
import { expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

/** Whether an operation documents a refusal, as a response entry or in its description, naming its error code (on
 * /v1/messages, whose errors carry no code, Anthropic's error type for its status will do). */
const ANTHROPIC_TYPE: Record<string, string> = { '402': 'billing_error', '403': 'permission_error', '429': 'rate_limit_error', '502': 'api_error', '504': 'timeout_error' }
const documents = (op: any, status: string, code: string, anthropic: boolean) => {
  const names = (text: string) => text.includes(code) || (anthropic && text.includes(ANTHROPIC_TYPE[status]!))
  const entry = op.responses?.[status]
  const description = String(op.description ?? '')
  return (entry !== undefined && names(String(entry.description ?? ''))) || (description.includes(status) && names(description))
}

const TOKEN_PRICED = ['/v1/chat/completions', '/v1/messages', '/v1/responses', '/v1/embeddings']
const PER_REQUEST = ['/v1/moderations', '/v1/audio/speech', '/v1/audio/transcriptions']

test('the route does answer 402 budget_exceeded (so a client must handle it)', async () => {
  const { secret } = await gw.userWithKey({ id: 'docs-poor', max_budget: 0.000001 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100 }),
  })
  expect(res.status).toBe(402)
  expect(((await res.json()) as any).error.code).toBe('budget_exceeded')
})

test('every billed operation in /docs documents the SPEC §3 refusals it can answer', async () => {
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  const undocumented: string[] = []
  for (const path of [...TOKEN_PRICED, ...PER_REQUEST]) {
    const op = doc.paths[path]?.post
    expect(op).toBeDefined()
    const expected: Array<[string, string]> = [
      ['402', 'budget_exceeded'],
      ['403', 'user_mismatch'],
      ['403', 'model_not_allowed'],
      ['429', 'rate_limit_exceeded'],
      ['502', 'upstream_error'],
      ['504', 'upstream_timeout'],
      ...(TOKEN_PRICED.includes(path) ? [['402', 'pricing_required'] as [string, string]] : []),
    ]
    for (const [status, code] of expected) if (!documents(op, status, code, path === '/v1/messages')) undocumented.push(`POST ${path}: ${status} ${code}`)
  }
  expect(undocumented).toEqual([])
})
