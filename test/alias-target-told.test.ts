import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * Red team (kh): a key that may not call an alias learns, from a billed route's refusal, that the alias exists and
 * which model it routes to. README (`GET /v1/models/{id}`): "404 for a model the key may not call … the list leaves
 * the same out", and the route answers an alias the key may not call exactly as a name that does not exist. But
 * POST /v1/chat/completions (and every billed route, through admission's `modelNotAllowed(model.canonical)`) answers
 * 403 "This key may not call <the alias's target>": another team's alias (`exec-assistant` → a private fine-tune)
 * is confirmed and its target spelt out to any key that guesses its name.
 */
let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      aliases: { 'exec-assistant': 'mock:ft-gpt-mock-acme-merger-2027' },
      pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mock:ft-gpt-mock-acme-merger-2027': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'intern', max_budget: 10 }, { allowed_models: ['mock:gpt-mock'] })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const chat = (model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })

test("a key refused an alias is not told the alias's target", async () => {
  // The models route hides it, as README says.
  const retrieved = await fetch(`${gw.url}/v1/models/exec-assistant`, { headers: { authorization: `Bearer ${secret}` } })
  expect(retrieved.status).toBe(404)

  const real = await chat('exec-assistant')
  const realText = await real.text()
  const made = await chat('exec-assistant-nonexistent')
  expect(made.status).toBe(404)
  // The 403 itself is README's ("a model taken off its list → 403 model_not_allowed"), though it confirms the alias
  // exists where /v1/models/{id} will not. Expected: the refusal names the model as the key asked for it. Received:
  // "This key may not call mock:ft-gpt-mock-acme-merger-2027." — the alias's private target.
  expect(real.status).toBe(403)
  expect(realText).not.toContain('acme-merger')
})

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

test('every route that refuses the alias names it as the key asked for it, with the 403 model_not_allowed', async () => {
  const asks: Array<[string, unknown, Record<string, string>?]> = [
    ['/v1/messages', { model: 'exec-assistant', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }],
    ['/v1/messages/count_tokens', { model: 'exec-assistant', messages: [{ role: 'user', content: 'hi' }] }],
    ['/v1/responses', { model: 'exec-assistant', input: 'hi' }],
    ['/v1/responses/input_tokens', { model: 'exec-assistant', input: 'hi' }],
    ['/v1/embeddings', { model: 'exec-assistant', input: 'hi' }],
  ]
  for (const [path, body] of asks) {
    const res = await post(path, body)
    const text = await res.text()
    expect({ path, status: res.status, told: text.includes('acme-merger'), named: text.includes('This key may not call exec-assistant.') }).toEqual({
      path, status: 403, told: false, named: true,
    })
  }
  // A model spelt `provider/model` is named as it was spelt, too.
  const slashed = await chat('mock/ft-gpt-mock-acme-merger-2027')
  expect(slashed.status).toBe(403)
  expect(await slashed.text()).toContain('This key may not call mock/ft-gpt-mock-acme-merger-2027.')
})
