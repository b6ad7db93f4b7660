/**
 * The requests in handling, which a stop's grace waits for (src/server.ts), are counted from the first hook to
 * the answer's handover, once each: every kind of request leaves the count where it found it, refusals at the
 * edge, a body nobody read, a client gone while its body arrived or while its call ran, a stream. A request
 * left counted would hold every stop for its whole grace.
 */
import { afterAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { connect } from 'node:net'
import { createApp, createServices } from '../src/app'
import { listenOptions } from '../src/server'
import { startMockProvider } from './support/mock-provider'
import { MASTER_KEY, tempDir, testConfig } from './support/gateway'

const mock = startMockProvider({ latencyMs: 400 })
const dir = tempDir()
const services = await createServices(testConfig({ mock, config: { max_body_bytes: 100_000 } }, dir))
const app = createApp(services).listen(listenOptions({ ...services.config, host: '127.0.0.1', port: 0 }, {}, services.logger))
const url = `http://127.0.0.1:${app.server!.port}`
afterAll(async () => {
  await app.stop(true)
  services.requestLog.stop()
  services.refusals.stop()
  await services.records.stop()
  await services.store.close()
  mock.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function countBackToZero(): Promise<number> {
  const until = Date.now() + 5_000
  while (services.inHandling.count !== 0 && Date.now() < until) await Bun.sleep(10)
  return services.inHandling.count
}

/** A request whose connection is dropped once its head (and `bodyPart`) is written. */
async function dropAfter(head: string, bodyPart: string, afterMs: number) {
  const socket = connect({ host: '127.0.0.1', port: app.server!.port! })
  socket.on('error', () => {})
  await new Promise((resolve) => socket.on('connect', resolve))
  socket.write(head + bodyPart)
  await Bun.sleep(afterMs)
  socket.destroy()
}

test('every kind of request is counted in handling once, and counted out once answered or dropped', async () => {
  const master = { authorization: `Bearer ${MASTER_KEY}` }
  expect((await fetch(`${url}/v1/users`, { method: 'POST', headers: { ...master, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'u' }) })).status).toBe(201)
  const key = (await (await fetch(`${url}/v1/keys`, { method: 'POST', headers: { ...master, 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'u' }) })).json()) as { key: string }
  const auth = { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' }
  const chat = (stream: boolean) => JSON.stringify({ model: 'mock:gpt-mock', stream, messages: [{ role: 'user', content: 'hi' }] })

  // A call under way is counted until its answer is handed over.
  const running = fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: auth, body: chat(false) })
  await Bun.sleep(100)
  expect(services.inHandling.count).toBe(1)
  expect((await running).status).toBe(200)

  const statuses = await Promise.all([
    fetch(`${url}/health`).then((r) => r.status),
    fetch(`${url}/health`, { method: 'HEAD' }).then((r) => r.status),
    fetch(`${url}/v1/no/such/path`, { headers: auth }).then((r) => r.status),
    // No key, a body nobody reads.
    fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(50_000) }).then((r) => r.status),
    // Over the limit by its declared length, refused before it is read.
    fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: auth, body: 'x'.repeat(200_000) }).then((r) => r.status),
    fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: auth, body: '{not json' }).then((r) => r.status),
    fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: auth, body: chat(true) }).then((r) => r.text().then(() => r.status)),
  ])
  expect(statuses).toEqual([200, 200, 404, 401, 413, 400, 200])
  // A client gone while its body arrived, and one gone while its call ran.
  await dropAfter(`POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${key.key}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n`, '{"model":', 200)
  await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: auth, body: chat(false), signal: AbortSignal.timeout(100) }).catch(() => {})
  expect(await countBackToZero()).toBe(0)
  await Bun.sleep(600) // the dropped call's answer comes, and is handed over to nobody
  expect(services.inHandling.count).toBe(0)
})
