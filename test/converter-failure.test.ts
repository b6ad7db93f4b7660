import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { meterEvents, type StreamFacts } from '../src/metering/metered-stream'
import { openAIMeter } from '../src/metering/openai-stream'
import { upstreamSignal } from '../src/providers/upstream'
import { convertStream, type StreamConverter } from '../src/translate/convert-stream'
import { startTestGateway, type TestGateway } from './support/gateway'
import { openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { waitFor } from './support/wait-for'

/**
 * A translated stream is metered, then converted. A converter that throws on an event (a bug's path) ends
 * the client's stream with what the converter still owes, and cancels its source as a broken converter
 * does: the metered upstream, left unread and uncancelled, kept the provider call open and the hold
 * reserved until the whole upstream timeout (600 s by default), with no usage row. The meter then
 * settles the stream as cut, paying what was generated (SPEC §6).
 * And a chunk the meter tolerates (a null choice, a null tool call) no longer throws in the Responses
 * converter: it is skipped, as the Anthropic converter skips it.
 */

const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices, ...extra })
const encoder = new TextEncoder()

describe('a converter that throws', () => {
  test('cancels its metered source: the upstream is cancelled and the meter settles the stream as cut, with the output delivered', async () => {
    let sourceCancelled = false
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(encoder.encode(chunk([{ index: 0, delta: { role: 'assistant', content: 'Hello' } }])))
        c.enqueue(encoder.encode(chunk([{ index: 0, delta: { content: 'boom' } }])))
        // …and the provider keeps the stream open, as a working one would.
      },
      cancel() {
        sourceCancelled = true
      },
    })
    let facts: StreamFacts | undefined
    const options = { idleTimeoutMs: 30_000, signal: upstreamSignal(60_000), onEnd: (f: StreamFacts) => (facts = f) }
    const metered = meterEvents(source, openAIMeter({ passUsage: true }), options)
    let pushed = 0
    const converter: StreamConverter = {
      broken: false,
      push: () => {
        if (++pushed === 2) throw new TypeError("Cannot read properties of null (reading 'delta')")
        return 'data: converted\n\n'
      },
      end: () => 'data: failed\n\n',
    }
    const body = await new Response(convertStream(metered, converter)).text()
    expect(body).toBe('data: converted\n\ndata: failed\n\n')
    expect(sourceCancelled).toBe(true)
    // Cut: billed as a stream its client cut (usage if known, else the input estimate and these 9 bytes).
    expect(facts).toMatchObject({ end: 'cancelled', usage: null, deliveredOutputBytes: 'Hello'.length + 'boom'.length })
  })
})

describe('Responses through chat completions', () => {
  let upstream: ScriptedUpstream
  let gw: TestGateway
  let secret: string

  beforeAll(async () => {
    upstream = startScriptedUpstream()
    gw = await startTestGateway({
      config: {
        providers: { viachat: { ...scriptedProviders(upstream).plain, responses: 'chat' as const } },
        pricing: { 'viachat:m': { input_per_million: 1, output_per_million: 2 } },
        upstream_timeout_ms: 60_000,
        upstream_idle_timeout_ms: 30_000,
      },
    })
    ;({ secret } = await gw.userWithKey({ id: 'team-null-choice', max_budget: 10 }))
  })
  afterAll(async () => {
    await gw.stop()
    await upstream.stop()
  })

  // The meter reads `choice?.delta`; the converter read `choice.delta` and `call.index`, threw, and the
  // client got response.failed while the hold stayed reserved until the upstream timeout (60 s here).
  test('a null choice and a null tool call are skipped: the answer completes and settles at once', async () => {
    upstream.answer(() =>
      sseResponse([
        chunk([{ index: 0, delta: { role: 'assistant', content: 'Hello' } }]),
        chunk([null]),
        chunk([{ index: 0, delta: { tool_calls: [null] } }]),
        chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
        chunk([], { usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } }),
        'data: [DONE]\n\n',
      ]),
    )
    const res = await fetch(gw.url + '/v1/responses', {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'viachat:m', stream: true, max_output_tokens: 100, input: 'Say something' }),
    })
    expect(res.status).toBe(200)
    const body = await res.text()
    expect(body).toContain('response.completed')
    expect(body).not.toContain('response.failed')
    expect(await waitFor(5_000, async () => (await gw.admin('GET', '/v1/users/team-null-choice')).body.reserved === 0)).toBe(true)
    const [row] = gw.query('SELECT status, cost FROM usage')
    expect(row).toEqual({ status: 'ok', cost: 7 + 3 * 2 })
  }, 20_000)
})
