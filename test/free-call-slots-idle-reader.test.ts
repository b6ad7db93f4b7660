/**
 * A stored response passed through (GET /v1/responses/{id}) keeps its free-call slot until its body ends, and the
 * route switches the connection's idle timeout off while it is relayed. A client that sends the GET and then reads
 * nothing kept the slot for the whole upstream timeout (600 s by default): enough such connections, costing
 * nothing (a few keys of one user, each within its own limit of free calls), refused every other user's free calls
 * (count_tokens, input_tokens, retrieve) with 503, for ten minutes, renewable at will. A relayed body whose client
 * takes nothing for the upstream idle timeout is now ended: its slot back, the provider's body cancelled, the
 * client's connection closed.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { FreeCallSlots } from '../src/providers/free-call-slots'
import { FREE_CALLS } from '../src/providers/upstream-slots'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, postResponses, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const STORED = 'resp_big_stored_1'
// Larger than what the loopback socket buffers take in: the gateway's relay waits on the client.
const BIG = new TextEncoder().encode(`{"id":"${STORED}","object":"response","output":[],"pad":"${'x'.repeat(16 * 1024 * 1024)}"}`)
const slots = new FreeCallSlots(FREE_CALLS)
/** Keys enough to fill every slot clients may take, each within its own limit. */
const READER_KEYS = Math.ceil(slots.forClients / slots.perKey)
let upstream: ScriptedUpstream
let gw: TestGateway
const readerKeys: string[] = []
let other: string
const sockets: Socket[] = []

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    idleTimeoutSec: 1,
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'ant:m': { input_per_million: 1, output_per_million: 2 } },
      upstream_idle_timeout_ms: 1_000,
      metrics_enabled: true,
    },
  })
  readerKeys.push((await gw.userWithKey({ id: 'idle-reader', max_budget: 10 })).secret)
  while (readerKeys.length < READER_KEYS) readerKeys.push((await gw.admin('POST', '/v1/keys', { user_id: 'idle-reader' })).body.key)
  other = (await gw.userWithKey({ id: 'someone-else', max_budget: 10 })).secret
  upstream.answer(() => jsonResponse({ id: STORED, object: 'response', status: 'completed', output: [], usage: { input_tokens: 5, output_tokens: 1 } }))
  expect((await postResponses(gw, readerKeys[0]!, { model: 'plain:m', input: 'hi', max_output_tokens: 16 })).status).toBe(200)
})
afterAll(async () => {
  for (const s of sockets) s.destroy()
  await gw?.stop()
  await upstream?.stop()
})

const freeCallsInFlight = async () => Number(/tollgate_free_calls_in_flight (\d+)/.exec(await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text())![1])
const retrievals = () => upstream.calls.filter((c) => c.path.endsWith(`/responses/${STORED}`)).length

test("connections that read nothing of a stored response do not refuse every other user's free calls past the idle timeout", async () => {
  upstream.answer((call) =>
    call.path.endsWith('/count_tokens') ? jsonResponse({ input_tokens: 3 }) : new Response(BIG, { headers: { 'content-type': 'application/json' } }),
  )
  const { hostname, port } = new URL(gw.url)
  const closed: Promise<void>[] = []
  const received: number[] = []
  for (const key of readerKeys)
    for (let i = 0; i < slots.perKey; i++) {
      const s = connect(Number(port), hostname)
      s.on('error', () => {})
      closed.push(new Promise((resolve) => s.on('close', () => resolve())))
      const at = received.push(0) - 1
      s.on('data', (chunk: Buffer) => void (received[at]! += chunk.byteLength))
      s.pause() // never reads a byte of the answer, but stays connected
      s.write(`GET /v1/responses/${STORED} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${key}\r\n\r\n`)
      sockets.push(s)
    }
  for (let i = 0; i < 100 && retrievals() < slots.forClients; i++) await Bun.sleep(20)
  // Every slot clients may take was taken by the readers.
  expect(retrievals()).toBe(slots.forClients)

  // Three times both idle timeouts (Bun's listener and the upstream idle timeout), far under the 600 s call timeout.
  await Bun.sleep(3_000)
  const res = await fetch(`${gw.url}/v1/messages/count_tokens`, {
    method: 'POST',
    headers: { 'x-api-key': other, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'ant:m', messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect({ status: res.status, body: await res.text() }).toEqual({ status: 200, body: JSON.stringify({ input_tokens: 3 }) })
  // The readers were let go: their slots are back, and their connections were closed (what the sockets had
  // buffered is read once they read again, then the end, short of the whole body).
  expect(await freeCallsInFlight()).toBe(0)
  for (const s of sockets) s.resume()
  const allClosed = await Promise.race([Promise.all(closed).then(() => true), Bun.sleep(5_000).then(() => false)])
  expect({ allClosed, whole: received.filter((n) => n >= BIG.byteLength).length }).toEqual({ allClosed: true, whole: 0 })
}, 30_000)
