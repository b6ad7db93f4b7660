/**
 * The console sign-in's body (`POST /v1/session`, 4,096 bytes at most, reached with no credential) takes no share of
 * the bound for bodies in flight: it is read before its route's Origin check and rate limit, and a declared length
 * costs nothing to send (README). Red team jg: claimed at four times its declared length before any of it came
 * (bf632979), 7,168 connections from two addresses, each sending its headers and one byte of a declared 4,096-byte
 * body, filled the 112 MiB bound until Bun's 30 s idle timeout, and another user's 200-byte chat got 503
 * `body_read_busy`; the sender, who needs no key, could open them again as Bun cut them.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: SpawnedGateway
let victim: string
const sockets: Socket[] = []

beforeAll(async () => {
  mock = startMockProvider()
  gw = await spawnGateway({ mock })
  victim = (await gw.userWithKey({ id: 'paying', max_budget: 10 })).secret
})

afterAll(async () => {
  for (const s of sockets) s.destroy()
  await gw.stop()
  await mock.stop()
})

async function open(head: string, sent: Buffer, localAddress?: string): Promise<{ answer: Promise<string> }> {
  const socket = connect({ host: '127.0.0.1', port: Number(new URL(gw.url).port), localAddress })
  sockets.push(socket)
  let text = ''
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
  socket.on('error', () => {})
  const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(text)))
  await new Promise<void>((resolve) => {
    socket.on('connect', () => resolve())
    socket.on('close', () => resolve())
  })
  socket.write(head)
  socket.write(sent)
  return { answer }
}

const signIn = (from: string) =>
  open(`POST /v1/session HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n`, Buffer.from('{'), from)

test("sign-in bodies declared and never sent, from no key, do not refuse a user's 200-byte chat", async () => {
  const early: Promise<string>[] = []
  for (const [from, count] of [['127.0.0.2', 5376], ['127.0.0.3', 1792]] as const) {
    for (let i = 0; i < count; i += 256) {
      const batch = await Promise.all(Array.from({ length: Math.min(256, count - i) }, () => signIn(from)))
      early.push(...batch.map((b) => b.answer))
    }
  }
  await Bun.sleep(500)
  const answeredEarly = (await Promise.all(early.map((a) => Promise.race([a, Bun.sleep(1).then(() => null)])))).filter((a) => a !== null).length
  console.log(`${early.length} sign-in connections open, ${answeredEarly} answered already`)

  const body = Buffer.from(JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 5, messages: [{ role: 'user', content: 'hello' }] }))
  const calls = mock.calls.length
  const { answer } = await open(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${victim}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
    body,
  )
  const got = await Promise.race([answer, Bun.sleep(10_000).then(() => '(no answer in 10 s)')])
  expect(got).not.toContain('body_read_busy')
  expect(got.split('\r\n')[0]).toBe('HTTP/1.1 200 OK')
  expect(mock.calls.length - calls).toBe(1)
}, 60_000)
