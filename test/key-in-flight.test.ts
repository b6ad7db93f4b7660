/**
 * A key is checked when its request arrives and again once the body is in: a body may take as long as its
 * client likes, and meanwhile the key may be revoked, rotated away, expire or lose a model. No provider call
 * is made on the key as it was (SPEC §3, §4: unknown, expired, revoked → 401; `model_not_allowed` → 403).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

interface Slow {
  path: string
  method?: string
  contentType?: string
  bytes: Uint8Array
}

const jsonBody = (path: string, body: unknown, method = 'POST'): Slow => ({
  path,
  method,
  contentType: 'application/json',
  bytes: new TextEncoder().encode(JSON.stringify(body)),
})

const chatBody = (model = 'mock:gpt-mock', extra: Record<string, unknown> = {}) =>
  jsonBody('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hello there' }], ...extra })

/**
 * Sends a request whose headers (and key) arrive first and whose body is finished only after `meanwhile`
 * has run. Returns the status and the error body, if any.
 */
async function slowly(secret: string, request: Slow, meanwhile: () => Promise<void>): Promise<{ status: number; body: any }> {
  const { bytes } = request
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const half = Math.floor(bytes.length / 2)
  const pending = fetch(gw.url + request.path, {
    method: request.method ?? 'POST',
    headers: { authorization: `Bearer ${secret}`, ...(request.contentType ? { 'content-type': request.contentType } : {}) },
    body: new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(bytes.slice(0, half))
        await gate
        c.enqueue(bytes.slice(half))
        c.close()
      },
    }),
    duplex: 'half',
  } as RequestInit)
  // The first half has reached the gateway, which has authenticated the request and waits for the rest.
  await Bun.sleep(100)
  await meanwhile()
  release()
  const res = await pending
  const text = await res.text()
  let body: any = null
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: res.status, body }
}

const ok = (r: { status: number }) => expect(r.status).toBe(200)

describe('a key changed while its request body is still arriving', () => {
  test('revoked: 401, and the provider gets no call', async () => {
    const { secret, keyId } = await gw.userWithKey({ id: 'inflight-revoked' })
    const r = await slowly(secret, chatBody(), async () => ok(await gw.admin('DELETE', `/v1/keys/${keyId}`)))
    expect({ status: r.status, code: r.body?.error?.code, upstreamCalls: mock.calls.length }).toEqual({ status: 401, code: 'invalid_api_key', upstreamCalls: 0 })
  })

  test('expired: 401, and the provider gets no call', async () => {
    const expiresAt = Date.now() + 600
    const { secret } = await gw.userWithKey({ id: 'inflight-expired' }, { expires_at: new Date(expiresAt).toISOString() })
    const r = await slowly(secret, chatBody(), () => Bun.sleep(expiresAt + 50 - Date.now()))
    expect({ status: r.status, upstreamCalls: mock.calls.length }).toEqual({ status: 401, upstreamCalls: 0 })
  })

  test('rotated: the old secret gets 401 and the provider no call; the new secret is served', async () => {
    const { secret, keyId } = await gw.userWithKey({ id: 'inflight-rotated' })
    let rotated = ''
    const r = await slowly(secret, chatBody(), async () => {
      const res = await gw.admin('POST', `/v1/keys/${keyId}/rotate`)
      ok(res)
      rotated = res.body.key
    })
    expect({ status: r.status, upstreamCalls: mock.calls.length }).toEqual({ status: 401, upstreamCalls: 0 })
    ok(await slowly(rotated, chatBody(), async () => {}))
    expect(mock.calls.length).toBe(1)
  })

  test('allowed_models narrowed: 403 model_not_allowed for the model taken away, and the provider gets no call', async () => {
    const { secret, keyId } = await gw.userWithKey({ id: 'inflight-narrowed' })
    const r = await slowly(secret, chatBody(), async () => ok(await gw.admin('PATCH', `/v1/keys/${keyId}`, { allowed_models: ['mock:other'] })))
    expect({ status: r.status, code: r.body?.error?.code, upstreamCalls: mock.calls.length }).toEqual({ status: 403, code: 'model_not_allowed', upstreamCalls: 0 })
  })

  test("the key's settings as they are now decide: user_field turned to reject refuses a body naming another user", async () => {
    const { secret, keyId } = await gw.userWithKey({ id: 'inflight-user-field' }, { user_field: 'tag' })
    const body = chatBody('mock:gpt-mock', { user: 'session-tag-1' })
    const r = await slowly(secret, body, async () => ok(await gw.admin('PATCH', `/v1/keys/${keyId}`, { user_field: 'reject' })))
    expect({ status: r.status, code: r.body?.error?.code, upstreamCalls: mock.calls.length }).toEqual({ status: 403, code: 'user_mismatch', upstreamCalls: 0 })
  })

  test('its user blocked: 403 user_blocked, and the provider gets no call', async () => {
    const { secret } = await gw.userWithKey({ id: 'inflight-blocked' })
    const r = await slowly(secret, chatBody(), async () => ok(await gw.admin('PATCH', '/v1/users/inflight-blocked', { blocked: true })))
    expect({ status: r.status, code: r.body?.error?.code, upstreamCalls: mock.calls.length }).toEqual({ status: 403, code: 'user_blocked', upstreamCalls: 0 })
  })

  test('edited without taking anything away (renamed, another model allowed too): served as usual', async () => {
    const { secret, keyId } = await gw.userWithKey({ id: 'inflight-edited' }, { allowed_models: ['mock:gpt-mock'] })
    const r = await slowly(secret, chatBody(), async () =>
      ok(await gw.admin('PATCH', `/v1/keys/${keyId}`, { name: 'renamed', allowed_models: ['mock:gpt-mock', 'mock:other'] })))
    expect({ status: r.status, upstreamCalls: mock.calls.length }).toEqual({ status: 200, upstreamCalls: 1 })
  })
})

async function transcription(): Promise<Slow> {
  const form = new FormData()
  form.append('model', 'mock:whisper')
  form.append('file', new File([new Uint8Array(4096).fill(7)], 'clip.wav'))
  const encoded = new Response(form)
  return { path: '/v1/audio/transcriptions', contentType: encoded.headers.get('content-type')!, bytes: new Uint8Array(await encoded.arrayBuffer()) }
}

/** Every route that calls a provider on a key's behalf, with a body that route would serve. */
const ROUTES: Array<[string, () => Promise<Slow> | Slow]> = [
  ['chat completions', () => chatBody()],
  ['messages', () => jsonBody('/v1/messages', { model: 'mock:gpt-mock', max_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] })],
  ['messages count_tokens', () => jsonBody('/v1/messages/count_tokens', { model: 'mockant:claude-mock', messages: [{ role: 'user', content: 'hello there' }] })],
  ['responses', () => jsonBody('/v1/responses', { model: 'mock:gpt-mock', input: 'hello there' })],
  ['responses input_tokens', () => jsonBody('/v1/responses/input_tokens', { model: 'mock:gpt-mock', input: 'hello there' })],
  ['embeddings', () => jsonBody('/v1/embeddings', { model: 'mock:gpt-mock', input: 'hello there' })],
  ['moderations', () => jsonBody('/v1/moderations', { model: 'mock:omni-moderation-latest', input: 'hello there' })],
  ['audio speech', () => jsonBody('/v1/audio/speech', { model: 'mock:tts-1', input: 'hello there', voice: 'alloy' })],
  ['audio transcriptions (multipart)', transcription],
]

describe('every route that calls a provider for a key checks the key again once the body is in', () => {
  for (const [name, request] of ROUTES) {
    test(`${name}: a key revoked meanwhile gets 401, and the provider no call`, async () => {
      const { secret, keyId } = await gw.userWithKey({ id: `inflight-route-${name.replace(/\W+/g, '-')}` })
      // The same request with the key as it was is served: the refusal below is the revocation's.
      ok(await slowly(secret, await request(), async () => {}))
      expect(mock.calls.length).toBe(1)
      mock.reset()
      const r = await slowly(secret, await request(), async () => ok(await gw.admin('DELETE', `/v1/keys/${keyId}`)))
      expect({ status: r.status, upstreamCalls: mock.calls.length }).toEqual({ status: 401, upstreamCalls: 0 })
    })
  }

  test('the free counting routes see allowed_models narrowed meanwhile: 403 model_not_allowed, no provider call', async () => {
    const cases = [
      {
        path: '/v1/messages/count_tokens',
        body: { model: 'mockant:claude-mock', messages: [{ role: 'user', content: 'hi' }] },
        refusal: { type: 'error', error: { type: 'permission_error', message: 'This key may not call mockant:claude-mock.' } },
      },
      {
        path: '/v1/responses/input_tokens',
        body: { model: 'mock:gpt-mock', input: 'hi' },
        refusal: { error: { type: expect.any(String), code: 'model_not_allowed', message: 'This key may not call mock:gpt-mock.', param: null } },
      },
    ]
    for (const { path, body, refusal } of cases) {
      const { secret, keyId } = await gw.userWithKey({ id: `inflight-count-${path.replace(/\W+/g, '-')}` })
      const r = await slowly(secret, jsonBody(path, body), async () => ok(await gw.admin('PATCH', `/v1/keys/${keyId}`, { allowed_models: ['mock:other'] })))
      expect({ path, status: r.status, body: r.body, upstreamCalls: mock.calls.length }).toEqual({ path, status: 403, body: refusal, upstreamCalls: 0 })
    }
  })

  test('a stored response is not cancelled or deleted with a key revoked while the request body arrived', async () => {
    const { secret, keyId } = await gw.userWithKey({ id: 'inflight-stored' })
    const created = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', input: 'hello there' }),
    })
    expect(created.status).toBe(200)
    const { id } = (await created.json()) as { id: string }
    mock.reset()
    // A second key of the owner, revoked during the cancel; the first, during the delete.
    const second = await gw.admin('POST', '/v1/keys', { user_id: 'inflight-stored' })
    expect(second.status).toBe(201)
    const cancel = await slowly(second.body.key, jsonBody(`/v1/responses/${id}/cancel`, {}), async () => ok(await gw.admin('DELETE', `/v1/keys/${second.body.id}`)))
    expect({ status: cancel.status, upstreamCalls: mock.calls.length }).toEqual({ status: 401, upstreamCalls: 0 })
    const remove = await slowly(secret, jsonBody(`/v1/responses/${id}`, {}, 'DELETE'), async () => ok(await gw.admin('DELETE', `/v1/keys/${keyId}`)))
    expect({ status: remove.status, upstreamCalls: mock.calls.length }).toEqual({ status: 401, upstreamCalls: 0 })
  })
})
