/**
 * The process's budget for bodies read in pieces (src/http/body-budget.ts) is claimed by what has come of a body,
 * never by what it declares: a declared length costs nothing to send. Three connections of one key (one with no
 * money: the budget is checked before the hold) declaring the whole budget between them and sending nothing refused
 * every other user's large body 503 `body_read_busy`, for as long as their sender liked to open new ones.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: SpawnedGateway
let attacker: string
let victim: string
const sockets: Socket[] = []

beforeAll(async () => {
  mock = startMockProvider()
  gw = await spawnGateway({ mock })
  attacker = (await gw.userWithKey({ id: 'penniless', max_budget: 0 })).secret
  victim = (await gw.userWithKey({ id: 'paying', max_budget: 10 })).secret
})

afterAll(async () => {
  for (const s of sockets) s.destroy()
  await gw.stop()
  await mock.stop()
})

const chatBody = (bytes: number) => {
  const head = '{"model":"mock:gpt-mock","max_tokens":5,"messages":[{"role":"user","content":"'
  const tail = '"}]}'
  return Buffer.from(head + 'x'.repeat(bytes - head.length - tail.length) + tail)
}

async function open(secret: string, declared: number, sent: Buffer): Promise<{ answer: Promise<string> }> {
  const socket = connect({ host: '127.0.0.1', port: Number(new URL(gw.url).port) })
  sockets.push(socket)
  let text = ''
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
  socket.on('error', () => {})
  const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(text)))
  await new Promise<void>((resolve) => socket.on('connect', () => resolve()))
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${secret}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${declared}\r\nConnection: close\r\n\r\n`,
  )
  socket.write(sent)
  return { answer }
}

test("one key's bodies declared and never sent do not refuse another user's 2 MB body", async () => {
  // Defaults: body limit 26,214,400; budget 67,108,864 = 24,000,000 + 24,000,000 + 19,108,864. Nothing of them is sent.
  for (const declared of [24_000_000, 24_000_000, 19_108_864]) await open(attacker, declared, Buffer.alloc(0))
  await Bun.sleep(300)

  const body = chatBody(2 * 1024 * 1024)
  const calls = mock.calls.length
  const { answer } = await open(victim, body.length, body)
  // The victim's body came whole and at once; the only bytes the gateway holds are its own.
  const got = await Promise.race([answer, Bun.sleep(10_000).then(() => '(no answer in 10 s)')])
  expect(got).not.toContain('body_read_busy')
  expect(got.split('\r\n')[0]).toBe('HTTP/1.1 200 OK')
  expect(mock.calls.length - calls).toBe(1)
}, 30_000)
