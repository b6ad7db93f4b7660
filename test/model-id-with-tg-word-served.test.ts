/**
 * A model name was refused 400 as "holding an API key" when it held `tg-` and 32 or more key characters not inside a
 * word (`WHOLE_KEY`, src/keys/secret.ts). A key is `tg-` and exactly 43 base64url characters (`generateKey`), but
 * hyphenated words are key characters too: an OpenAI fine-tune's id carries the suffix its owner chose
 * (`ft:<base>:<org>:<suffix>:<id>`), and a team whose suffixes start `tg-` got ids refused though priced and allowed;
 * so did `llama-tg-instruct-v1-distilled-8b-q4_k_m-gguf`. An SDK cannot avoid it: the id is the model's name. Only
 * `tg-` and exactly 43 key characters, not running on, is a key.
 */import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

const FINE_TUNE = 'mock:ft:gpt-4o-mini-2024-07-18:acme:tg-support-ticket-router-2025-v3-final:AbC123xy'
const LLAMA = 'mock:llama-tg-instruct-v1-distilled-8b-q4_k_m-gguf'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      pricing: {
        'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 },
        [FINE_TUNE]: { input_per_million: 0.3, output_per_million: 1.2 },
        [LLAMA]: { input_per_million: 0.1, output_per_million: 0.1 },
      },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

async function chat(model: string, user: string) {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  })
  const text = await res.text()
  return { status: res.status, refusedAsKey: text.includes('holds an API key') }
}

test('control: a priced model is served', async () => {
  expect(await chat('mock:gpt-mock', 'gd-tg-control')).toEqual({ status: 200, refusedAsKey: false })
})

test('a priced OpenAI fine-tune whose suffix starts tg- is served, not refused as holding a key', async () => {
  expect(await chat(FINE_TUNE, 'gd-tg-fine-tune')).toEqual({ status: 200, refusedAsKey: false })
})

test('a priced model named llama-tg-instruct-v1-… is served, not refused as holding a key', async () => {
  expect(await chat(LLAMA, 'gd-tg-llama')).toEqual({ status: 200, refusedAsKey: false })
})
