/**
 * A provider whose every answer the test writes itself (Bun.serve on 127.0.0.1), for answers the mock
 * provider does not give: a 200 stream that closes with no events, a 200 whose body is only an error,
 * a server that reads only `max_tokens`. It records each request's path and parsed JSON body.
 */
import { afterAll, beforeAll, beforeEach } from 'bun:test'
import { startTestGateway, type GatewayOptions, type TestGateway } from './gateway'
export interface ScriptedCall {
  path: string
  body: Record<string, any>
}

export type Script = (call: ScriptedCall) => Response | Promise<Response>

export interface ScriptedUpstream {
  url: string
  calls: ScriptedCall[]
  /** The answer to every following request. */
  answer(script: Script): void
  stop(): Promise<void>
}

export function startScriptedUpstream(): ScriptedUpstream {
  let script: Script = () => new Response('no script', { status: 500 })
  const calls: ScriptedCall[] = []
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const text = await req.text()
      const call = { path: new URL(req.url).pathname, body: text ? JSON.parse(text) : {} }
      calls.push(call)
      return script(call)
    },
  })
  return {
    url: `http://127.0.0.1:${server.port}`,
    calls,
    answer(next) {
      script = next
    },
    async stop() {
      await server.stop(true)
    },
  }
}

/** Providers `plain` (OpenAI-compatible, not api.openai.com: it reads `max_tokens`) and `ant` (Anthropic) on one scripted upstream. */
export const scriptedProviders = (upstream: ScriptedUpstream) => ({
  plain: { type: 'openai' as const, base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' },
  ant: { type: 'anthropic' as const, base_url: upstream.url, api_key: 'sk-ant-scripted-secret-0123456789' },
})

export const sseResponse = (events: string[]) =>
  new Response(events.join(''), { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } })

/** A script whose answer is a 200 stream that sends these events and then stays open until the gateway cancels it. */
export const openStream = (events: string[]) => () =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const e of events) c.enqueue(new TextEncoder().encode(e))
      },
    }),
    { headers: { 'content-type': 'text/event-stream' } },
  )

export const jsonResponse = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

/** An Anthropic SSE event, named as Anthropic names them. */
export const anthropicEvent = (data: Record<string, unknown>) => `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`

/** An OpenAI SSE data event. */
export const openAIEvent = (data: unknown) => `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`

/** The JSON of each `data:` line of a stream the gateway answered, `[DONE]` left out. */
export const dataEvents = (text: string): Array<Record<string, any>> =>
  text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice('data: '.length)))

/**
 * A gateway in front of a scripted upstream, its two models (`plain:m`, `ant:m`) priced at $1/$2 per
 * million, and a key of a user with $10: the setting of the settlement-edge suites.
 */
export async function scriptedGateway(userId: string): Promise<{ upstream: ScriptedUpstream; gw: TestGateway; secret: string; stop(): Promise<void> }> {
  const upstream = startScriptedUpstream()
  const gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'ant:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  const { secret } = await gw.userWithKey({ id: userId, max_budget: 10 })
  return { upstream, gw, secret, stop: async () => { await gw.stop(); await upstream.stop() } }
}

/** A Responses request with the key's `secret`, as the SDKs send one. */
export const postResponses = (gw: TestGateway, secret: string, body: unknown) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** `plain:m` at $1/$2 per million (1 and 2 µ$ a token), cap-output on, a default max output of 64 tokens: the holds suites' setting. */
export const CAPPED_PLAIN_M = {
  pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
  cap_output_tokens: true,
  default_max_output_tokens: 64,
}

/**
 * For a test file: a gateway with `config` (over the test defaults; a function of the upstream when it names
 * the upstream's address) in front of a scripted upstream, whose providers (`scriptedProviders`) it is given,
 * started before the file's tests and stopped after them; the upstream's calls are cleared before each test.
 * `use` is handed both once they are started; `gateway` holds the other options of startTestGateway (its idle timeout).
 */
export function withScriptedGateway(
  config: Record<string, unknown> | ((upstream: ScriptedUpstream) => Record<string, unknown>),
  use: (started: { upstream: ScriptedUpstream; gw: TestGateway }) => void,
  gateway: Omit<GatewayOptions, 'config' | 'mock'> = {},
): void {
  let started: { upstream: ScriptedUpstream; gw: TestGateway } | undefined
  beforeAll(async () => {
    const upstream = startScriptedUpstream()
    const own = typeof config === 'function' ? config(upstream) : config
    started = { upstream, gw: await startTestGateway({ ...gateway, config: { providers: scriptedProviders(upstream), ...own } }) }
    use(started)
  })
  afterAll(async () => {
    await started?.gw.stop()
    await started?.upstream.stop()
  })
  beforeEach(() => {
    if (started) started.upstream.calls.length = 0
  })
}
