import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { billedRows, startClientSetup, USER_ID, type ClientSetup } from '../support/clients'

// Real clients on a busy machine: more room than bun's 5 s default (bunfig has no test timeout setting).
setDefaultTimeout(30_000)

/** The official `@anthropic-ai/sdk` client beyond messages.create: counting tokens and listing models. */
let setup: ClientSetup
let client: Anthropic

beforeAll(async () => {
  setup = await startClientSetup()
  client = new Anthropic({ baseURL: setup.gw.url, apiKey: setup.secret, maxRetries: 0 })
})
afterAll(() => setup?.stop())

const PROMPT = { messages: [{ role: 'user' as const, content: 'How many tokens is this?' }], system: 'Be brief.' }

/** Spend, reserved and usage rows, to show a count leaves them all alone. */
async function ledger() {
  await setup.gw.settled()
  const user = (await setup.gw.admin('GET', `/v1/users/${USER_ID}`)).body
  return { spend: user.spend, reserved: user.reserved, rows: setup.gw.query('SELECT count(*) AS n FROM usage')[0].n }
}

test('messages.countTokens: an Anthropic model counts for itself, an OpenAI-type one by the tokenizer; both free', async () => {
  const before = await ledger()
  const claude = await client.messages.countTokens({ model: 'mockant:claude-mock', ...PROMPT })
  const gpt = await client.messages.countTokens({ model: 'mock:gpt-mock', ...PROMPT })
  expect(await ledger()).toEqual(before)

  // Passed through: the mock's own count (ceil(33 bytes / 4) + 3 for one message).
  expect(claude.input_tokens).toBe(12)
  expect(setup.mock.calls.filter((c) => c.path === '/v1/messages/count_tokens')).toHaveLength(1)
  // Counted by the gateway: a real tokenizer, not a byte count.
  expect(gpt.input_tokens).toBeGreaterThan(0)
  expect(gpt.input_tokens).toBeLessThan(33)
})

test('messages.create still billed to the key’s user, and models.list answers in Anthropic’s format', async () => {
  const rows = await billedRows(setup, async () => {
    const message = await client.messages.create({ model: 'mockant:claude-mock', max_tokens: 100, ...PROMPT })
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'Hello from the mock provider.' })
  })
  expect(rows.map((r) => [r.endpoint, r.model])).toEqual([['/v1/messages', 'mockant:claude-mock']])

  const models: Anthropic.ModelInfo[] = []
  for await (const model of client.models.list()) models.push(model)
  expect(models.find((m) => m.id === 'mockant:claude-mock')).toMatchObject({ type: 'model', display_name: expect.any(String) })
})
