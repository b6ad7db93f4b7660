import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'

/**
 * Red team (kh): an earlier chat audio answer is named by id (`{role: 'assistant', audio: {id}}`) and OpenAI reads
 * it again from the shared provider account — whoever's request it was. README "Stored state": "All users share the
 * provider's account, so tollgate records every response id (and conversation id) a provider stores for a request
 * made through it, with the billed user … anyone else … gets 404 … before the provider is called"; containers the
 * same, since they hold that user's data. An audio answer is stored by the provider for a request made through the
 * gateway (unlike files, which README excuses because "tollgate cannot create them"), and holds that user's answer
 * (speech and transcript). The gateway records no owner for it: any other user's key that learns the id has the
 * model read alice's answer back to it, on bob's bill.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    pricing: {
      'plain:audio': { input_per_million: 2.5, output_per_million: 10, audio_input_per_million: 40, audio_output_per_million: 80 },
      'ant:m': { input_per_million: 3, output_per_million: 15 },
    },
  },
  (started) => ({ upstream, gw } = started),
)

const chat = (secret: string, body: unknown) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

test("another user's audio answer id is refused 404 before the provider is called, as a stored response id is", async () => {
  const alice = await gw.userWithKey({ id: 'alice', max_budget: 10 })
  const bob = await gw.userWithKey({ id: 'bob', max_budget: 10 })
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'chatcmpl-a1', object: 'chat.completion', created: 1, model: body.model,
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: null, audio: { id: 'audio_alice_private_1', expires_at: 4102444800, data: 'UklGRg==', transcript: 'Your diagnosis is…' } } }],
      usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30, completion_tokens_details: { audio_tokens: 15 } },
    }),
  )
  const first = await chat(alice.secret, {
    model: 'plain:audio', max_completion_tokens: 64, modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' },
    messages: [{ role: 'user', content: 'Read me my results.' }],
  })
  expect(first.status).toBe(200)
  const audioId = ((await first.json()) as any).choices[0].message.audio.id
  expect(audioId).toBe('audio_alice_private_1')

  upstream.calls.length = 0
  const stolen = await chat(bob.secret, {
    model: 'plain:audio', max_completion_tokens: 64,
    messages: [
      { role: 'user', content: 'Read me my results.' },
      { role: 'assistant', audio: { id: audioId } },
      { role: 'user', content: 'Repeat that word for word.' },
    ],
  })
  const sentUpstream = upstream.calls.length
  // Expected: 404 before any provider call (bob's user never had this answer). Received: 200, alice's audio read for bob.
  expect({ status: stolen.status, sentUpstream }).toEqual({ status: 404, sentUpstream: 0 })
})

const audioAnswer = (id: string) => ({
  id: 'chatcmpl-a', object: 'chat.completion', created: 1, model: 'audio',
  choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: null, audio: { id, expires_at: 4102444800, data: 'UklGRg==', transcript: 'Hello.' } } }],
  usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30, completion_tokens_details: { audio_tokens: 15 } },
})
const askAudio = { model: 'plain:audio', max_completion_tokens: 64, modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' }, messages: [{ role: 'user', content: 'Say hello.' }] }
const namingAudio = (id: string, model = 'plain:audio') => ({
  model, max_completion_tokens: 64,
  messages: [{ role: 'user', content: 'Say hello.' }, { role: 'assistant', audio: { id } }, { role: 'user', content: 'Again.' }],
})
const textAnswer = () => jsonResponse({
  id: 'chatcmpl-b', object: 'chat.completion', created: 1, model: 'audio',
  choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Hello.' } }],
  usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
})

test('the user whose answer it was may name its audio again; the refusal is the stored ids\' 404', async () => {
  const carol = await gw.userWithKey({ id: 'carol', max_budget: 10 })
  const dave = await gw.userWithKey({ id: 'dave', max_budget: 10 })
  upstream.answer(() => jsonResponse(audioAnswer('audio_carol_1')))
  expect((await chat(carol.secret, askAudio)).status).toBe(200)

  upstream.answer(textAnswer)
  upstream.calls.length = 0
  expect((await chat(carol.secret, namingAudio('audio_carol_1'))).status).toBe(200)
  expect(upstream.calls.length).toBe(1)

  const refused = await chat(dave.secret, namingAudio('audio_carol_1'))
  expect(refused.status).toBe(404)
  expect(((await refused.json()) as any).error.code).toBe('audio_not_found')
  // One never created through the gateway is told alike.
  expect((await chat(carol.secret, namingAudio('audio_never_made'))).status).toBe(404)
  expect(upstream.calls.length).toBe(1)
})

test("a streamed answer's audio id (a delta's audio.id) is recorded for its user before the client gets it", async () => {
  const erin = await gw.userWithKey({ id: 'erin', max_budget: 10 })
  const frank = await gw.userWithKey({ id: 'frank', max_budget: 10 })
  const chunk = (delta: unknown, finish: string | null = null) =>
    openAIEvent({ id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model: 'audio', choices: [{ index: 0, delta, finish_reason: finish }] })
  upstream.answer(() =>
    sseResponse([
      chunk({ role: 'assistant', content: null }),
      chunk({ audio: { id: 'audio_erin_stream', transcript: 'Hel' } }),
      chunk({ audio: { data: 'UklGRg==', transcript: 'lo.' } }),
      chunk({ audio: { expires_at: 4102444800 } }, 'stop'),
      openAIEvent({ id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model: 'audio', choices: [], usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } }),
      openAIEvent('[DONE]'),
    ]),
  )
  const streamed = await chat(erin.secret, { ...askAudio, stream: true })
  expect(await streamed.text()).toContain('audio_erin_stream')

  upstream.answer(textAnswer)
  upstream.calls.length = 0
  expect((await chat(frank.secret, namingAudio('audio_erin_stream'))).status).toBe(404)
  expect(upstream.calls.length).toBe(0)
  expect((await chat(erin.secret, namingAudio('audio_erin_stream'))).status).toBe(200)
  expect(upstream.calls.length).toBe(1)
})

test('translated to Anthropic, or with the master key naming another user, the audio id is refused alike', async () => {
  const gina = await gw.userWithKey({ id: 'gina', max_budget: 10 })
  const hank = await gw.userWithKey({ id: 'hank', max_budget: 10 })
  upstream.answer(() => jsonResponse(audioAnswer('audio_gina_1')))
  expect((await chat(gina.secret, askAudio)).status).toBe(200)

  upstream.calls.length = 0
  expect((await chat(hank.secret, namingAudio('audio_gina_1', 'ant:m'))).status).toBe(404)
  const master = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST', headers: { ...gw.master, 'content-type': 'application/json' }, body: JSON.stringify({ ...namingAudio('audio_gina_1'), user: 'hank' }),
  })
  expect(master.status).toBe(404)
  expect(upstream.calls.length).toBe(0)
})

test('/v1/messages translated to OpenAI carries no audio id upstream: its assistant turns are rebuilt from their blocks', async () => {
  const ivy = await gw.userWithKey({ id: 'ivy', max_budget: 10 })
  upstream.answer(textAnswer)
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ivy.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'plain:audio', max_tokens: 64,
      messages: [{ role: 'user', content: 'Say hello.' }, { role: 'assistant', content: 'Hello.', audio: { id: 'audio_carol_1' } }, { role: 'user', content: 'Again.' }],
    }),
  })
  expect(res.status).toBe(200)
  expect(upstream.calls).toHaveLength(1)
  expect(JSON.stringify(upstream.calls[0]!.body)).not.toContain('audio_carol_1')
})
