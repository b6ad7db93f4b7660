/**
 * /docs names, for each billed route, the refusal codes that route answers beyond those every billed call has
 * (test/docs-billed-route-errors.test.ts): 400 `context_size_unknown` (a Gemini context cache on chat,
 * src/pricing/features.ts refuseUnseenCache), 400 `invalid_json` (a body that is not JSON, src/http/json-body.ts),
 * 400 `background_unsupported` and 404 `response_not_found` (Responses: src/routes/responses.ts), and 400
 * `unsupported_endpoint` (embeddings of an Anthropic model, src/providers/call.ts refuseAnthropicModel). A client
 * generated from /docs/json, or written from Swagger UI, has a case for each. Each is produced here for real, then
 * looked up in the operation's documented responses; so are the request fields refused as `feature_unsupported`, and
 * the inputs refused as unsizable (Azure's `data_sources`; a router's stored prompt, `prompt_id`: `unsized_stored_input`).
 */
import { expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

const send = async (path: string, secret: string, body: string) => {
  const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body })
  const json = (await res.json()) as any
  return { status: res.status, code: json?.error?.code as string | undefined }
}

test('every refusal code a billed route answers is documented for that route in /docs', async () => {
  const { secret } = await gw.userWithKey({ id: 'docs-route-codes', max_budget: 10 })
  const chat = { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }
  const cases: Array<[string, string]> = [
    ['/v1/chat/completions', JSON.stringify({ ...chat, extra_body: { google: { cached_content: 'cachedContents/abc' } } })],
    ['/v1/chat/completions', '{"model": "mock:gpt-mock", "messages": ['],
    ['/v1/responses', JSON.stringify({ model: 'mock:gpt-mock', input: 'hi', background: true })],
    ['/v1/responses', JSON.stringify({ model: 'mock:gpt-mock', input: 'hi', previous_response_id: 'resp_never_made' })],
    ['/v1/embeddings', JSON.stringify({ model: 'mockant:claude-x', input: 'hi' })],
  ]
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  const answered: string[] = []
  const undocumented: string[] = []
  for (const [path, body] of cases) {
    const { status, code } = await send(path, secret, body)
    answered.push(`${path} ${status} ${code}`)
    const entry = doc.paths[path]?.post?.responses?.[String(status)]
    if (!code || !String(entry?.description ?? '').includes(code)) undocumented.push(`POST ${path}: ${status} ${code}`)
  }
  // The refusals do happen (so a client meets them)...
  expect(answered).toEqual([
    '/v1/chat/completions 400 context_size_unknown',
    '/v1/chat/completions 400 invalid_json',
    '/v1/responses 400 background_unsupported',
    '/v1/responses 404 response_not_found',
    '/v1/embeddings 400 unsupported_endpoint',
  ])
  // ...and each operation lists it under the status it answers it with (before: the Responses description said
  // "404 otherwise" and that background is refused, in prose, without the codes a client would switch on).
  expect(undocumented).toEqual([])
})

test('the request fields a billed route refuses as feature_unsupported are named in its 400', async () => {
  const { secret } = await gw.userWithKey({ id: 'docs-route-fields', max_budget: 10 })
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  const chat = { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }
  const responses = { model: 'mock:gpt-mock', input: 'hi' }
  const undocumented: string[] = []
  for (const [path, body, field] of [
    ['/v1/chat/completions', { ...chat, extra_body: { n: 4 } }, 'extra_body'],
    ['/v1/chat/completions', { ...chat, mm_processor_kwargs: { min_pixels: 1 } }, 'mm_processor_kwargs'],
    ['/v1/chat/completions', { ...chat, media_io_kwargs: { video: { num_frames: 1 } } }, 'media_io_kwargs'],
    ['/v1/chat/completions', { ...chat, preset: 'p' }, 'preset'],
    ['/v1/responses', { ...responses, extra_body: { n: 4 } }, 'extra_body'],
    ['/v1/responses', { ...responses, mm_processor_kwargs: { min_pixels: 1 } }, 'mm_processor_kwargs'],
    ['/v1/responses', { ...responses, preset: 'p' }, 'preset'],
    ['/v1/responses', { ...responses, tools: [{ type: 'image_generation', partial_images: 2 }] }, 'partial_images'],
    ['/v1/responses', { ...responses, tools: [{ type: 'image_generation', output_format: 'gif', frame_count: 4 }] }, 'frame_count'],
    ['/v1/responses', { ...responses, tools: [{ type: 'image_generation', input_fidelity: 'high' }] }, 'input_fidelity'],
    ['/v1/responses', { ...responses, input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/a.png' }] }], tools: [{ type: 'image_generation' }] }, 'input_image'],
    ['/v1/embeddings', { model: 'mock:gpt-mock', input: 'hi', extra_body: { model: 'x' } }, 'extra_body'],
    ['/v1/embeddings', { model: 'mock:gpt-mock', input: 'hi', messages: [{ role: 'user', content: 'hi' }] }, 'messages'],
    ['/v1/embeddings', { model: 'mock:gpt-mock', input: 'hi', chat_template: '{{ messages }}' }, 'chat_template'],
    ['/v1/embeddings', { model: 'mock:gpt-mock', input: 'hi', mm_processor_kwargs: { min_pixels: 1 } }, 'mm_processor_kwargs'],
    ['/v1/moderations', { model: 'mock:gpt-mock', input: 'hi', extra_body: { model: 'x' } }, 'extra_body'],
    ['/v1/audio/speech', { model: 'mock:gpt-mock', input: 'hi', voice: 'alloy', extra_body: { model: 'x' } }, 'extra_body'],
  ] as const) {
    const { status, code } = await send(path, secret, JSON.stringify(body))
    expect({ path, field, status, code }).toEqual({ path, field, status: 400, code: 'feature_unsupported' })
    if (!String(doc.paths[path].post.responses['400'].description).includes(`\`${field}\``)) undocumented.push(`POST ${path}: ${field}`)
  }
  expect(undocumented).toEqual([])
})

test('the inputs a billed route refuses as unsizable are named in its 400, with their code', async () => {
  const { secret } = await gw.userWithKey({ id: 'docs-route-unsized', max_budget: 10 })
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  const chat = { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }
  const messages = { model: 'mockant:claude-x', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }
  const undocumented: string[] = []
  for (const [path, body, field, code] of [
    ['/v1/chat/completions', { ...chat, data_sources: [{ type: 'azure_search', parameters: {} }] }, 'data_sources', 'context_size_unknown'],
    ['/v1/chat/completions', { ...chat, prompt_id: 'p' }, 'prompt_id', 'unsized_stored_input'],
    ['/v1/responses', { model: 'mock:gpt-mock', input: 'hi', prompt_id: 'p' }, 'prompt_id', 'unsized_stored_input'],
    ['/v1/messages', { ...messages, prompt_id: 'p' }, 'prompt_id', 'unsized_stored_input'],
  ] as const) {
    const { status } = await send(path, secret, JSON.stringify(body))
    expect({ path, field, status }).toEqual({ path, field, status: 400 })
    const description = String(doc.paths[path].post.responses['400'].description)
    if (!description.includes(`\`${field}\``) || (path !== '/v1/messages' && !description.includes(code))) undocumented.push(`POST ${path}: ${field}`)
  }
  expect(undocumented).toEqual([])
})
