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
import { waitFor } from './support/wait-for'

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

  // The readers are let go once they have taken nothing for both idle timeouts (Bun's listener's and the upstream
  // idle timeout, 1 s each), their slots back then. 20 s at most: far under the 600 s call timeout that held them
  // before. A fixed 3 s was short on a loaded machine (a 6-worker run: all 28 still in flight), where the gateway
  // takes seconds to push 28 bodies of 16 MB into the sockets' buffers (4 copies beside two busy loops: back after
  // 7-8 s). A metrics read refused meanwhile (a kept-alive connection the 1 s idle timeout closed) is read again.
  expect(await waitFor(20_000, async () => (await freeCallsInFlight().catch(() => -1)) === 0)).toBe(true)
  const res = await fetch(`${gw.url}/v1/messages/count_tokens`, {
    method: 'POST',
    headers: { 'x-api-key': other, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'ant:m', messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect({ status: res.status, body: await res.text() }).toEqual({ status: 200, body: JSON.stringify({ input_tokens: 3 }) })
  // The readers' connections were closed (what the sockets had buffered is read once they read again, then the end,
  // short of the whole body).
  for (const s of sockets) s.resume()
  const allClosed = await Promise.race([Promise.all(closed).then(() => true), Bun.sleep(5_000).then(() => false)])
  expect({ allClosed, whole: received.filter((n) => n >= BIG.byteLength).length }).toEqual({ allClosed: true, whole: 0 })
}, 45_000)
