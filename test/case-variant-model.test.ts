/**
 * A key's allow-list and price are judged on `model`; a Go server (Ollama: gin's ShouldBindJSON, Go's encoding/json)
 * matches keys ignoring case and takes the last, so a `Model` key beside it would be the model the server runs. The
 * scripted upstream reads the body as Go would and answers with the model it ran, as Ollama does.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { goField } from './support/go-json'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: {
        'plain:small': { input_per_million: 1, output_per_million: 2 },
        'plain:big': { input_per_million: 100, output_per_million: 200 },
      },
    },
  })
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: goField(body, 'model'),
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
    }),
  )
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const chat = (secret: string, body: unknown) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

test('a key allowed only plain:small cannot have the server run `big` by adding a "Model" key', async () => {
  const { secret } = await gw.userWithKey({ id: 'model-case', max_budget: 1 }, { allowed_models: ['plain:small'] })
  // The dearer model itself is refused to this key (403): the allow-list works on `model`.
  expect((await chat(secret, { model: 'plain:big', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })).status).toBe(403)

  const res = await chat(secret, { model: 'plain:small', Model: 'big', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })
  await res.text()
  // Refused (no call), or sent so that the server can only read the admitted model.
  for (const call of upstream.calls) expect(goField(call.body, 'model')).toBe('small')
})
