import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * An answer is refused (502) for quoting a credential the provider was sent; a value that is none, or was never
 * sent, makes no echo: a true answer may say it. A proxy behind `http://admin:admin@host/v1` has a password no one
 * would call a secret, yet its `Basic` token, `YWRtaW46YWRtaW4=`, was refused when an answer quoted it (base64 of
 * anything is long and has digits); it is the stock example of HTTP Basic auth, which a model explaining
 * `curl -u admin:admin` prints, and with an `api_key` set the gateway sends `Authorization: Bearer …`, which
 * replaces the URL's user and password: that token was never even sent. Likewise vLLM's documented placeholder
 * key `token-abc123` ("has a digit"), which a model writing vLLM client code prints verbatim. Each was refused and
 * charged its whole hold. And an answer that is refused, for a real credential, is paid by the usage it states,
 * as a stream stopped at such an event is, not by its whole hold.
 * Rates: 1 µ$ an input token, 2 µ$ an output token; every answer states 20 input and 30 output tokens (80 µ$).
 */
const PASSWORD = 'k9x7Qm2Zt4Lp'
let upstream: ScriptedUpstream
let gw: TestGateway
beforeAll(async () => {
  upstream = startScriptedUpstream()
  const { host } = new URL(upstream.url)
  const price = { input_per_million: 1, output_per_million: 2 }
  gw = await startTestGateway({
    config: {
      providers: {
        proxy: { type: 'openai', base_url: `http://admin:admin@${host}/v1`, api_key: 'sk-proxy-secret-0123456789abcdef' },
        // vLLM's documented placeholder (`vllm serve … --api-key token-abc123`), as copied from its docs.
        vllm: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'token-abc123' },
        // No api key: fetch sends the URL's user and password as `Authorization: Basic …`.
        basic: { type: 'openai', base_url: `http://proxyuser:${PASSWORD}@${host}/v1`, api_key: '' },
      },
      pricing: { 'proxy:m': price, 'vllm:m': price, 'basic:m': price },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const USAGE = { prompt_tokens: 20, completion_tokens: 30, total_tokens: 50 }

async function ask(model: string, user: string, answer: string, usage: object | null = USAGE) {
  upstream.answer(() =>
    jsonResponse({
      id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
      ...(usage ? { usage } : {}),
    }),
  )
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  let status = 0
  let text = ''
  const row = await settledRow(gw, user, async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 1_000, messages: [{ role: 'user', content: 'question' }] }),
    })
    status = res.status
    text = await res.text()
  })
  return { status, text, row }
}

test('an answer explaining Basic auth for admin:admin is relayed and billed by its usage', async () => {
  const ANSWER = "`curl -u admin:admin` sends the header `Authorization: Basic YWRtaW46YWRtaW4=` (base64 of `admin:admin`)."
  const { status, text, row } = await ask('proxy:m', 'basic-admin-admin', ANSWER)
  expect({ status, relayed: text.includes('YWRtaW46YWRtaW4=') }).toEqual({ status: 200, relayed: true })
  // 20 × 1 + 30 × 2 µ$, not the hold (2,065 µ$ before).
  expect({ status: row.status, cost: row.cost }).toEqual({ status: 'ok', cost: 80 })
})

test("an answer quoting vLLM's documented placeholder key (the server's own) is relayed", async () => {
  const ANSWER = 'client = OpenAI(base_url="http://localhost:8000/v1", api_key="token-abc123")'
  const { status, row } = await ask('vllm:m', 'vllm-placeholder-key', ANSWER)
  expect(status).toBe(200)
  expect({ status: row.status, cost: row.cost }).toEqual({ status: 'ok', cost: 80 })
})

test('control: an answer quoting the Basic token actually sent is refused, and paid by the usage it states', async () => {
  const token = Buffer.from(`proxyuser:${PASSWORD}`).toString('base64')
  const { status, text, row } = await ask('basic:m', 'basic-token-sent', `Your header was: Authorization: Basic ${token}`)
  expect({ status, relayed: text.includes(token) || text.includes(PASSWORD) }).toEqual({ status: 502, relayed: false })
  expect({ status: row.status, cost: row.cost, completion_tokens: row.completion_tokens }).toEqual({ status: 'error', cost: 80, completion_tokens: 30 })
})

test('a refused answer without a usage pays its whole hold', async () => {
  const { status, row } = await ask('basic:m', 'basic-token-sent-no-usage', `password: ${PASSWORD}`, null)
  expect(status).toBe(502)
  expect(row.status).toBe('error')
  expect(row.cost).toBe(row.reserved)
})
