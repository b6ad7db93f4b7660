import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import OpenAI, { toFile } from 'openai'
import { PER_EMBEDDING_INPUT_OVERHEAD as PER_INPUT } from '../src/budget/estimate'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * The OpenAI surface beyond chat (embeddings, moderation, audio, the model list) through the official
 * openai client, against the real gateway and the mock provider.
 */

const PRICING = {
  'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 },
  // 2 µUSD per input token: costs are exact integers of micro-USD.
  'mock:text-embed': { input_per_million: 2, output_per_million: 0 },
  'mockant:claude-mock': { input_per_million: 3, output_per_million: 15 },
}
const ALIASES = {
  fast: 'mock:gpt-mock',
  embed: 'mock:text-embed',
  claude: 'mockant:claude-mock',
  'free-for-all': 'mock:never-priced',
}

let mock: MockProvider
let gw: TestGateway
let users = 0

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: PRICING, aliases: ALIASES } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

/** A fresh user with a $10 budget and a key for it, behind the official client. */
async function newCaller(key: Record<string, unknown> = {}) {
  const userId = `surface-${++users}`
  const { secret } = await gw.userWithKey({ id: userId, max_budget: 10 }, key)
  return { userId, client: new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 }) }
}

async function spendOf(userId: string): Promise<{ spend: number; reserved: number }> {
  await gw.settled()
  const { body } = await gw.admin('GET', `/v1/users/${userId}`)
  return { spend: body.spend, reserved: body.reserved }
}

const usageRow = (requestId: string | null) =>
  gw.query('SELECT endpoint, model, prompt_tokens, cost, reserved, status FROM usage WHERE request_id = ?', requestId)[0]

async function setPerRequestPrice(model: string, usd: number) {
  const res = await gw.admin('POST', '/v1/pricing', { model, input_per_million: 0, output_per_million: 0, per_request: usd })
  expect(res.status).toBe(201)
}

/** The error the client threw, for assertions on its class and status. */
async function failureOf(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await promise
  } catch (error) {
    if (error instanceof OpenAI.APIError) return error
    throw error
  }
  throw new Error('the request succeeded')
}

describe('embeddings', () => {
  test('a single input is priced by the prompt tokens the provider reports', async () => {
    const { userId, client } = await newCaller()
    const { data, response } = await client.embeddings.create({ model: 'mock:text-embed', input: 'hello world' }).withResponse()
    expect(data.data).toHaveLength(1)
    expect(data.data[0]!.embedding).toHaveLength(8)
    expect(data.usage.prompt_tokens).toBe(3) // the mock: ceil(11 bytes / 4)

    const call = mock.calls.at(-1)!
    expect(call.path).toBe('/v1/embeddings')
    expect((call.body as any).model).toBe('text-embed')

    expect((await spendOf(userId))).toEqual({ spend: (3 * 2) / 1e6, reserved: 0 })
    // The hold was the input's 11 UTF-8 bytes and the per-input overhead, at 2 µUSD each.
    expect(usageRow(response.headers.get('x-request-id'))).toEqual({
      endpoint: '/v1/embeddings', model: 'mock:text-embed', prompt_tokens: 3, cost: 6, reserved: (11 + PER_INPUT) * 2, status: 'ok',
    })
  })

  test('an array of inputs (by alias) is one request priced by its total tokens', async () => {
    const { userId, client } = await newCaller()
    const { data, response } = await client.embeddings.create({ model: 'embed', input: ['first text', 'second text here', 'é'] }).withResponse()
    expect(data.data.map((d) => d.index)).toEqual([0, 1, 2])
    const tokens = data.usage.prompt_tokens
    expect(tokens).toBe(3 + 4 + 1)
    expect((await spendOf(userId)).spend).toBe((tokens * 2) / 1e6)
    expect(usageRow(response.headers.get('x-request-id'))).toMatchObject({ endpoint: '/v1/embeddings', cost: tokens * 2, reserved: (10 + 16 + 2 + 3 * PER_INPUT) * 2 })
  })

  test('token arrays hold one token per entry, plus the per-input overhead each', async () => {
    const { client } = await newCaller()
    const { response } = await client.embeddings.create({ model: 'mock:text-embed', input: [[1, 2, 3], [4, 5]] }).withResponse()
    await gw.settled()
    expect(usageRow(response.headers.get('x-request-id'))).toMatchObject({ status: 'ok', reserved: (5 + 2 * PER_INPUT) * 2 })
  })

  test('an unpriced model is refused with 402 before the provider is called', async () => {
    const { userId, client } = await newCaller()
    const error = await failureOf(client.embeddings.create({ model: 'mock:never-priced', input: 'hi' }))
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error.status).toBe(402)
    expect(error.code).toBe('pricing_required')
    expect(mock.calls).toHaveLength(0)
    expect(await spendOf(userId)).toEqual({ spend: 0, reserved: 0 })
  })

  test('an upstream 500 is a 502, the hold is released and nothing is charged', async () => {
    const { userId, client } = await newCaller()
    mock.queue('fail-500')
    const error = await failureOf(client.embeddings.create({ model: 'mock:text-embed', input: 'hello' }))
    expect(error.status).toBe(502)
    expect(error.message).toContain('Upstream provider answered 500')
    expect(mock.calls).toHaveLength(1)
    expect(await spendOf(userId)).toEqual({ spend: 0, reserved: 0 })
    const rows = gw.query('SELECT status, cost FROM usage WHERE user_id = ?', userId)
    expect(rows).toEqual([{ status: 'error', cost: 0 }])
  })
})

describe('moderations', () => {
  test('an unpriced model is served even though pricing is required, and costs $0', async () => {
    const { userId, client } = await newCaller()
    const { data, response } = await client.moderations.create({ model: 'mock:omni-moderation', input: 'be nice' }).withResponse()
    expect(data.results[0]!.flagged).toBe(false)
    expect((mock.calls.at(-1)!.body as any).model).toBe('omni-moderation')
    expect(await spendOf(userId)).toEqual({ spend: 0, reserved: 0 })
    expect(usageRow(response.headers.get('x-request-id'))).toEqual({
      endpoint: '/v1/moderations', model: 'mock:omni-moderation', prompt_tokens: 0, cost: 0, reserved: 0, status: 'ok',
    })
  })

  test('with a per_request price, each request costs exactly that price', async () => {
    await setPerRequestPrice('mock:omni-priced', 0.002)
    const { userId, client } = await newCaller()
    const { response } = await client.moderations.create({ model: 'mock:omni-priced', input: ['one', 'two'] }).withResponse()
    expect(Number(response.headers.get('x-budget-remaining'))).toBeCloseTo(10 - 0.002, 9)
    await client.moderations.create({ model: 'mock:omni-priced', input: 'three' })
    expect(await spendOf(userId)).toEqual({ spend: 0.004, reserved: 0 })
    expect(usageRow(response.headers.get('x-request-id'))).toMatchObject({ cost: 2000, reserved: 2000 })
  })
})

describe('audio', () => {
  const expectedSpeech = Uint8Array.from({ length: 2048 }, (_, i) => (i === 0 ? 0xff : i === 1 ? 0xfb : (i * 31) & 0xff))

  test('speech: the provider\'s audio bytes and content type come through, at the per_request price', async () => {
    await setPerRequestPrice('mock:tts', 0.015)
    const { userId, client } = await newCaller()
    const response = await client.audio.speech.create({ model: 'mock:tts', voice: 'alloy', input: 'Hello there' })
    expect(response.headers.get('content-type')).toBe('audio/mpeg')
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(expectedSpeech)

    const sent = mock.calls.at(-1)!.body as Record<string, unknown>
    expect(sent).toEqual({ model: 'tts', voice: 'alloy', input: 'Hello there' })
    expect(await spendOf(userId)).toEqual({ spend: 0.015, reserved: 0 })
    expect(usageRow(response.headers.get('x-request-id'))).toMatchObject({ endpoint: '/v1/audio/speech', cost: 15_000, status: 'ok' })
  })

  test('transcription: the file and every field reach the provider unchanged, with the upstream model id', async () => {
    const { userId, client } = await newCaller()
    const { data, response } = await client.audio.transcriptions
      .create({
        file: await toFile(Buffer.from('fake audio'), 'a.mp3'),
        model: 'mock:whisper',
        // Starts like JSON: it must arrive as the same text, not as a parsed array.
        prompt: '["tollgate", "Elysia"]',
        language: 'en',
      })
      .withResponse()
    expect(data.text).toBe('transcribed by mock')

    const sent = mock.calls.at(-1)!
    expect(sent.path).toBe('/v1/audio/transcriptions')
    expect(sent.body).toEqual({ fields: { model: 'whisper', prompt: '["tollgate", "Elysia"]', language: 'en' }, files: ['a.mp3'] })
    expect(await spendOf(userId)).toEqual({ spend: 0, reserved: 0 })
    expect(usageRow(response.headers.get('x-request-id'))).toMatchObject({
      endpoint: '/v1/audio/transcriptions', model: 'mock:whisper', cost: 0, status: 'ok',
    })
  })

  test('transcription as text: the provider\'s plain-text answer is relayed with its content type', async () => {
    await setPerRequestPrice('mock:whisper-priced', 0.006)
    const { userId, client } = await newCaller()
    const text = await client.audio.transcriptions.create({
      file: await toFile(Buffer.from('fake audio'), 'b.wav'), model: 'mock:whisper-priced', response_format: 'text',
    })
    expect(text).toBe('transcribed by mock')
    expect(await spendOf(userId)).toEqual({ spend: 0.006, reserved: 0 })
  })

  test('a transcription that is not multipart is a 400 naming the format', async () => {
    const { secret } = await gw.userWithKey({ id: `surface-${++users}` })
    const res = await fetch(`${gw.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:whisper', file: 'abc' }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error.message).toContain('multipart/form-data')
    expect(mock.calls).toHaveLength(0)
  })

  test('the transcription route is documented as multipart/form-data with its file', async () => {
    const res = await fetch(`${gw.url}/docs/json`)
    const doc = (await res.json()) as any
    const content = doc.paths['/v1/audio/transcriptions'].post.requestBody.content
    expect(Object.keys(content)).toEqual(['multipart/form-data'])
    expect(content['multipart/form-data'].schema.properties.file).toBeDefined()
    for (const path of ['/v1/embeddings', '/v1/moderations', '/v1/audio/speech', '/v1/models'])
      expect(doc.paths[path]).toBeDefined()
  })
})

describe('GET /v1/models', () => {
  type Listed = OpenAI.Model & { pricing: Record<string, number | null> | null }
  const listOf = async (client: OpenAI) => {
    const out: Listed[] = []
    for await (const m of client.models.list()) out.push(m as Listed)
    return out
  }

  test('a key with allowed_models sees only what it may call, aliases whose target it may call included', async () => {
    const { client } = await newCaller({ allowed_models: ['embed', 'mock:gpt-mock'] })
    const ids = (await listOf(client)).map((m) => m.id)
    expect(ids).toEqual(['mock:gpt-mock', 'embed', 'fast'])
    // What it does not list, it cannot call.
    const error = await failureOf(client.embeddings.create({ model: 'mock:text-embed', input: 'x' }))
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError)
  })

  test('an unrestricted key sees every priced model and every priced alias, with prices; unpriced ones are absent', async () => {
    await gw.admin('POST', '/v1/pricing', { model: 'ghost:model', input_per_million: 1, output_per_million: 1 })
    const { client } = await newCaller()
    const models = await listOf(client)
    const byId = new Map(models.map((m) => [m.id, m]))

    expect(byId.get('mock:text-embed')).toMatchObject({
      object: 'model', owned_by: 'mock',
      pricing: { input_per_million: 2, output_per_million: 0, cached_input_per_million: null, per_request: null },
    })
    expect(byId.get('fast')!.pricing).toEqual(byId.get('mock:gpt-mock')!.pricing)
    expect(byId.get('fast')!.pricing).toMatchObject({ input_per_million: 1, output_per_million: 2 })
    expect(byId.get('claude')).toMatchObject({ owned_by: 'mockant', pricing: { input_per_million: 3, output_per_million: 15 } })
    for (const id of ['mock:gpt-mock', 'embed', 'mockant:claude-mock']) expect(byId.has(id)).toBe(true)
    // An alias to an unpriced model cannot be called, nor can a priced model of an unknown provider.
    expect(byId.has('free-for-all')).toBe(false)
    expect(byId.has('mock:never-priced')).toBe(false)
    expect(byId.has('ghost:model')).toBe(false)
  })

  test('with pricing not required, aliases to unpriced models are listed without a price', async () => {
    const open = await startTestGateway({ mock, config: { pricing: PRICING, aliases: ALIASES, require_pricing: false } })
    try {
      const client = new OpenAI({ apiKey: (await open.userWithKey({ id: 'open' })).secret, baseURL: `${open.url}/v1`, maxRetries: 0 })
      const free = (await listOf(client)).find((m) => m.id === 'free-for-all')
      expect(free).toMatchObject({ owned_by: 'mock', pricing: null })
    } finally {
      await open.stop()
    }
  })
})

describe('refusals', () => {
  test('a bad key is a 401 the client reports as AuthenticationError', async () => {
    const client = new OpenAI({ apiKey: 'tg-not-a-real-key-0123456789abcdef', baseURL: `${gw.url}/v1`, maxRetries: 0 })
    expect(await failureOf(client.embeddings.create({ model: 'mock:text-embed', input: 'x' }))).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(await failureOf(client.models.list())).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(mock.calls).toHaveLength(0)
  })

  test('an Anthropic model has no embeddings, moderation or audio: 400, and nothing is held or sent', async () => {
    const { userId, client } = await newCaller()
    const error = await failureOf(client.embeddings.create({ model: 'claude', input: 'x' }))
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error.message).toContain('Anthropic')
    expect(await failureOf(client.moderations.create({ model: 'mockant:claude-mock', input: 'x' }))).toBeInstanceOf(OpenAI.BadRequestError)
    expect(await failureOf(client.audio.speech.create({ model: 'claude', voice: 'alloy', input: 'x' }))).toBeInstanceOf(OpenAI.BadRequestError)
    expect(
      await failureOf(client.audio.transcriptions.create({ model: 'claude', file: await toFile(Buffer.from('x'), 'c.mp3') })),
    ).toBeInstanceOf(OpenAI.BadRequestError)
    expect(mock.calls).toHaveLength(0)
    await gw.settled()
    expect(gw.query('SELECT count(*) AS n FROM usage WHERE user_id = ?', userId)[0].n).toBe(0)
  })

  test('the master key bills the user its body names, on a multipart form too', async () => {
    const { userId } = await newCaller()
    await setPerRequestPrice('mock:whisper-master', 0.25)
    const master = new OpenAI({ apiKey: gw.master.authorization!.slice('Bearer '.length), baseURL: `${gw.url}/v1`, maxRetries: 0 })
    await master.audio.transcriptions.create({
      model: 'mock:whisper-master', file: await toFile(Buffer.from('x'), 'd.mp3'), user: userId,
    } as OpenAI.Audio.TranscriptionCreateParamsNonStreaming)
    // `user` names who pays; OpenAI's audio API has no such field, so it is not forwarded.
    expect((mock.calls.at(-1)!.body as any).fields).toEqual({ model: 'whisper-master' })
    expect(await spendOf(userId)).toEqual({ spend: 0.25, reserved: 0 })
  })
})
