/**
 * A JSON answer read whole is bounded by what its request can make (src/translate/answer-bound.ts), not a fixed
 * 32 MiB: a Response whose `image_generation` calls the request allowed carry MBs of base64 each, or whose text
 * carries `top_logprobs`, is past 32 MiB and relayed, billed by its usage; an answer past its own request's bound is
 * still refused, as a decompression bomb is.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { ANSWER_MAX_BYTES } from '../src/providers/answer-text'
import { NO_FEATURES } from '../src/pricing/features'
import { ANSWER_CEILING_BYTES, answerMaxBytes, answerOutputTokens } from '../src/translate/answer-bound'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

const MiB = 1024 * 1024
const USER = 'answer-bound'
const usage = { input_tokens: 100, output_tokens: 50, total_tokens: 150, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } }

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      server_tool_default_max_uses: 4,
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { image_generation: 0.04 } } },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 100 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const post = (body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', input: 'draw four logos', ...body }),
  })

/** Four image calls of 9 MiB of base64 each (a 1536×1024 PNG that does not compress is 8.4 MB): 36 MiB. */
const imageCalls = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ id: `ig_${i}`, type: 'image_generation_call', status: 'completed', result: 'A'.repeat(9 * MiB) }))

test('four generated images the request allowed, 36 MiB of base64, are relayed and billed by the usage', async () => {
  upstream.answer(() => jsonResponse({ id: 'resp_imgs', object: 'response', status: 'completed', model: 'm', usage, output: imageCalls(4) }))
  let status = 0
  let items = 0
  const row = await settledRow(gw, USER, async () => {
    const res = await post({ max_output_tokens: 100, tools: [{ type: 'image_generation' }] })
    status = res.status
    items = ((await res.json()) as { output?: unknown[] }).output?.length ?? 0
  })
  expect({ status, items, row: row.status, completion: row.completion_tokens }).toEqual({ status: 200, items: 4, row: 'ok', completion: 50 })
}, 60_000)

test('an answer past what its own request can make is still refused: a request with no image tool gets no 36 MiB', async () => {
  upstream.answer(() => jsonResponse({ id: 'resp_big', object: 'response', status: 'completed', model: 'm', usage, output: imageCalls(4) }))
  const res = await post({ max_output_tokens: 100 })
  const body = (await res.json()) as { error?: { message?: string } }
  expect({ status: res.status, tooLarge: body.error?.message?.includes(`larger than the ${ANSWER_MAX_BYTES} bytes`) }).toEqual({ status: 502, tooLarge: true })
  await gw.settled()
}, 60_000)

const estimate = (outputTokens: number, inputTokens = 100) => ({ inputTokens, outputTokens })

test('the bound is the held output at its bytes a token, logprobs, images, audio and tool results counted, 32 MiB the floor, 256 MiB the ceiling', () => {
  // A small request (a decompression bomb's): the floor.
  expect(answerMaxBytes({}, estimate(4096), NO_FEATURES, false, 0)).toBe(ANSWER_MAX_BYTES)
  // Chat, n: 2 × 16,384 with top_logprobs: 20: 21 entries a token.
  expect(answerMaxBytes({ logprobs: true, top_logprobs: 20 }, estimate(32_768), NO_FEATURES, false, 0)).toBe(32_768 * (64 + 21 * 128))
  // gpt-4.1's 32K output, n: 1, top_logprobs: 20; and Responses' `top_logprobs` alone, the same.
  expect(answerMaxBytes({ top_logprobs: 20 }, estimate(32_768), NO_FEATURES, false, 0)).toBe(32_768 * (64 + 21 * 128))
  // logprobs without alternatives: the token's own entry; Responses' include asks for the same.
  expect(answerMaxBytes({ logprobs: true }, estimate(200_000), NO_FEATURES, false, 0)).toBe(200_000 * (64 + 128))
  expect(answerMaxBytes({ include: ['message.output_text.logprobs'] }, estimate(200_000), NO_FEATURES, false, 0)).toBe(200_000 * (64 + 128))
  // Images the image_generation tool may render, each its own.
  expect(answerMaxBytes({}, estimate(100), { ...NO_FEATURES, serverTools: { image_generation: 4 } }, false, 0)).toBe(100 * 64 + 4 * 16 * MiB)
  // Images in a chat answer: each output token an image's.
  expect(answerMaxBytes({}, estimate(16_384), { ...NO_FEATURES, imageOutput: true }, false, 0)).toBe(16_384 * 4096)
  // Audio in a chat answer: ~3,200 bytes of base64 a token, held at 4 KiB.
  expect(answerMaxBytes({}, estimate(16_384), { ...NO_FEATURES, audioOutput: true }, false, 0)).toBe(16_384 * 4096)
  // What server tools bring back, held as input, comes back in the answer: a web fetch's max_uses × max_content_tokens,
  // and each use of another at the per-use allowance; 1 KiB a token (a PDF as base64).
  expect(answerMaxBytes({}, estimate(100), { ...NO_FEATURES, toolResultInput: { uses: 0, tokens: 5 * 10_000 } }, false, 20_000)).toBe(100 * 64 + 50_000 * 1024)
  expect(answerMaxBytes({}, estimate(100), { ...NO_FEATURES, serverTools: { web_search: 5 } }, false, 20_000)).toBe(100 * 64 + 5 * 20_000 * 1024)
  // A Response echoes its instructions and tools: its input, at 6 bytes a token.
  expect(answerMaxBytes({}, estimate(100, 10_000_000), NO_FEATURES, true, 0)).toBe(100 * 64 + 60_000_000)
  // n: 128 × 16,384 with top_logprobs: 20 is past what is read whole.
  expect(answerMaxBytes({ logprobs: true, top_logprobs: 20 }, estimate(128 * 16_384), NO_FEATURES, false, 0)).toBe(ANSWER_CEILING_BYTES)
})

test('an answer told no max can carry the model\'s largest output, not the default estimate the hold counts', () => {
  const read = ['max_completion_tokens', 'max_tokens']
  // A max the provider reads (the client's, cap-output's, the clamp's): the hold's output.
  expect(answerOutputTokens({ max_completion_tokens: 1000 }, read, estimate(1000), null)).toBe(1000)
  // None: 128K each choice, or the price row's context window if smaller.
  expect(answerOutputTokens({}, read, estimate(4096), { contextWindowTokens: 32_768 })).toBe(32_768)
  // Not a 1M window (red team ka: a one-line chat to gpt-4.1 was read to 64 MiB, a gzip bomb's answer with it): a plain
  // request told no max stays at the floor.
  expect(answerOutputTokens({}, read, estimate(4096), { contextWindowTokens: 1_047_576 })).toBe(128 * 1024)
  expect(answerMaxBytes({}, estimate(answerOutputTokens({}, read, estimate(4096), { contextWindowTokens: 1_047_576 })), NO_FEATURES, false, 0)).toBe(ANSWER_MAX_BYTES)
  expect(answerOutputTokens({ n: 2 }, read, estimate(8192), null)).toBe(2 * 128 * 1024)
  // A max in a field the provider does not read stops nothing.
  expect(answerOutputTokens({ max_tokens: 1000 }, ['max_output_tokens'], estimate(4096), { contextWindowTokens: null })).toBe(128 * 1024)
})
