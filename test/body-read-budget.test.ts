/**
 * A body read in pieces (declared larger than Bun reads whole, or chunked) is kept whole until it ends, and each is
 * bounded only by the body limit: without a bound on them all, a few clients that send most of a large body and then
 * stop held the process's memory until the pace rule let go. The process has a budget for them
 * (`body_read_budget_bytes`), claimed by what has come of each body: past it, or past a quarter of it for one
 * caller's bodies together, a body is refused 503 `body_read_busy`, with `Retry-After`, as soon as what has come
 * passes it. What was parsed from a body lives as long as its request (a provider's call, a stream relayed), so every
 * body, read in pieces or whole, also counts in flight until its request's answer is over, at its memory (four times
 * its bytes until its request has gone upstream, three times after for a stream, five while a JSON call's answer is
 * awaited, four throughout for an audio call), against a bound 1.75 times the budget (three quarters of it for one
 * caller's).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

const MiB = 1024 * 1024
/** In flight: 10.5 MiB of memory, 2.625 MiB of bodies (7.875 MiB, 1.97 MiB for one caller's); being read: 1.5 MiB for one caller's. */
const BUDGET = 6 * MiB

let mock: MockProvider
let gw: TestGateway
let secret: string
let other: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      body_read_budget_bytes: BUDGET,
      metrics_enabled: true,
      pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mock:whisper-1': { input_per_million: 0, output_per_million: 0, per_request: 0.001 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'large-bodies', max_budget: 100 })).secret
  other = (await gw.userWithKey({ id: 'other-large-bodies', max_budget: 100 })).secret
})

afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

/** A chat request of `bytes`, most of it one long message. */
const chatBody = (bytes: number, stream = false) => {
  const head = `{"model":"mock:gpt-mock","max_tokens":5,"stream":${stream},"messages":[{"role":"user","content":"`
  const tail = '"}]}'
  return Buffer.from(head + 'x'.repeat(bytes - head.length - tail.length) + tail)
}

interface Connection {
  socket: Socket
  /** Everything the server sent, once it closed the connection. */
  answer: Promise<string>
  /** What the server has sent so far. */
  sentSoFar(): string
}

/** Opens a connection and writes a request's head and `sent`, the start of its body, with `key`. */
async function startRequest(framing: string, sent: Buffer, key = secret): Promise<Connection> {
  const socket = connect({ host: '127.0.0.1', port: Number(new URL(gw.url).port) })
  let text = ''
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
  socket.on('error', () => {})
  const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(text)))
  await new Promise<void>((resolve) => socket.on('connect', () => resolve()))
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${key}\r\n` +
      `Content-Type: application/json\r\n${framing}\r\nConnection: close\r\n\r\n`,
  )
  socket.write(sent)
  return { socket, answer, sentSoFar: () => text }
}

/** The bodies refused so far at `limit` (the process's budget, or a caller's share), as /metrics counts them. */
async function refusedAt(limit: 'process' | 'caller' | 'process_in_flight'): Promise<number> {
  const metrics = await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text()
  return Number(metrics.match(new RegExp(`^tollgate_body_read_busy_total\\{limit="${limit}"\\} (\\d+)$`, 'm'))?.[1] ?? 0)
}

const chunk = (bytes: Buffer) => Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')])

test('a body is refused 503 once what has come of it passes what is left of the budget; the budget comes back when a body ends', async () => {
  const body = chatBody(2 * MiB)
  const calls = mock.calls.length
  const held = await startRequest(`Content-Length: ${body.length}`, body.subarray(0, MiB))
  await Bun.sleep(300)

  const large = chatBody(2.5 * MiB)
  const refused = await startRequest(`Content-Length: ${large.length}`, large, other)
  const answer = await refused.answer
  expect(answer.slice(0, 12)).toBe('HTTP/1.1 503')
  expect(answer).toContain('"code":"body_read_busy"')
  expect(answer.toLowerCase()).toContain('retry-after: 5')

  held.socket.write(body.subarray(MiB))
  expect((await held.answer).slice(0, 12)).toBe('HTTP/1.1 200')
  const after = await startRequest(`Content-Length: ${large.length}`, large, other)
  expect((await after.answer).slice(0, 12)).toBe('HTTP/1.1 200')
  expect(mock.calls.length - calls).toBe(2)
}, 30_000)

test("one caller's bodies together hold at most a quarter of the budget; another caller's are read beside them", async () => {
  const body = chatBody(2 * MiB)
  const held = await startRequest(`Content-Length: ${body.length}`, body.subarray(0, MiB))
  await Bun.sleep(300)

  const small = chatBody(MiB)
  const second = await startRequest(`Content-Length: ${small.length}`, small)
  const answer = await second.answer
  expect(answer.slice(0, 12)).toBe('HTTP/1.1 503')
  expect(answer).toContain('"code":"body_read_busy"')
  expect(answer).toContain('your share')

  const beside = await startRequest(`Content-Length: ${small.length}`, small, other)
  expect((await beside.answer).slice(0, 12)).toBe('HTTP/1.1 200')
  held.socket.write(body.subarray(MiB))
  expect((await held.answer).slice(0, 12)).toBe('HTTP/1.1 200')
}, 30_000)

test('a chunked body is refused 503 once what has come of it passes what is left of the budget', async () => {
  const body = chatBody(2 * MiB)
  const held = await startRequest(`Content-Length: ${body.length}`, body.subarray(0, MiB))
  await Bun.sleep(300)

  const chunked = await startRequest('Transfer-Encoding: chunked', chunk(chatBody(2.5 * MiB)), other)
  const answer = await chunked.answer
  expect(answer.slice(0, 12)).toBe('HTTP/1.1 503')
  expect(answer).toContain('"code":"body_read_busy"')

  held.socket.write(body.subarray(MiB))
  expect((await held.answer).slice(0, 12)).toBe('HTTP/1.1 200')
  const alone = await startRequest('Transfer-Encoding: chunked', Buffer.concat([chunk(body), Buffer.from('0\r\n\r\n')]))
  expect((await alone.answer).slice(0, 12)).toBe('HTTP/1.1 200')
}, 30_000)

test('one body is read when none is, however much larger than the budget it is declared or grows', async () => {
  const body = chatBody(BUDGET + MiB)
  const declared = await startRequest(`Content-Length: ${body.length}`, body)
  expect((await declared.answer).slice(0, 12)).toBe('HTTP/1.1 200')
  const chunked = await startRequest('Transfer-Encoding: chunked', Buffer.concat([chunk(body.subarray(0, MiB)), chunk(body.subarray(MiB)), Buffer.from('0\r\n\r\n')]))
  expect((await chunked.answer).slice(0, 12)).toBe('HTTP/1.1 200')
}, 30_000)

test('/metrics counts the bodies refused 503 body_read_busy, by the limit they reached', async () => {
  const before = { process: await refusedAt('process_in_flight'), caller: await refusedAt('caller') }
  const body = chatBody(2 * MiB)
  const held = await startRequest(`Content-Length: ${body.length}`, body.subarray(0, MiB))
  await Bun.sleep(300)

  const small = chatBody(MiB)
  expect((await (await startRequest(`Content-Length: ${small.length}`, small)).answer).slice(0, 12)).toBe('HTTP/1.1 503')
  const large = chatBody(2.5 * MiB)
  expect((await (await startRequest(`Content-Length: ${large.length}`, large, other)).answer).slice(0, 12)).toBe('HTTP/1.1 503')
  expect(await refusedAt('caller')).toBe(before.caller + 1)
  expect(await refusedAt('process_in_flight')).toBe(before.process + 1)

  held.socket.write(body.subarray(MiB))
  expect((await held.answer).slice(0, 12)).toBe('HTTP/1.1 200')
}, 30_000)

/** Waits until the mock provider has been called `n` times more than `before`. */
async function providerCalled(before: number, n = 1) {
  const deadline = Date.now() + 10_000
  while (mock.calls.length < before + n && Date.now() < deadline) await Bun.sleep(20)
  expect(mock.calls.length).toBe(before + n)
}

test("a body's share is held while the provider works on it, and given back once its answer is sent", async () => {
  mock.options.latencyMs = 1500
  try {
    // 7.5 MiB of memory once admitted as a JSON call: the next of the caller's passes its share (7.875 MiB) long before
    // the bound (10.5 MiB), whatever the size of its first chunk.
    const body = chatBody(1.5 * MiB)
    const calls = mock.calls.length
    const working = await startRequest(`Content-Length: ${body.length}`, body)
    await providerCalled(calls)

    const small = chatBody(MiB)
    const refused = await (await startRequest(`Content-Length: ${small.length}`, small)).answer
    expect(refused.slice(0, 12)).toBe('HTTP/1.1 503')
    expect(refused).toContain('your share')

    expect((await working.answer).slice(0, 12)).toBe('HTTP/1.1 200')
    expect((await (await startRequest(`Content-Length: ${small.length}`, small)).answer).slice(0, 12)).toBe('HTTP/1.1 200')
  } finally {
    mock.options.latencyMs = 0
  }
}, 30_000)

test("a body's share is held until its streamed answer ends, not when the answer's headers go out", async () => {
  mock.queue('slow-stream')
  mock.options.chunkDelayMs = 300
  try {
    const body = chatBody(2 * MiB, true)
    const calls = mock.calls.length
    const streaming = await startRequest(`Content-Length: ${body.length}`, body)
    await providerCalled(calls)
    await Bun.sleep(300)

    const small = chatBody(MiB)
    const refused = await (await startRequest(`Content-Length: ${small.length}`, small)).answer
    expect(refused.slice(0, 12)).toBe('HTTP/1.1 503')
    expect(refused).toContain('your share')

    const streamed = await streaming.answer
    expect(streamed.slice(0, 12)).toBe('HTTP/1.1 200')
    expect(streamed).toContain('data: [DONE]')
    expect((await (await startRequest(`Content-Length: ${small.length}`, small)).answer).slice(0, 12)).toBe('HTTP/1.1 200')
  } finally {
    mock.options.chunkDelayMs = undefined
  }
}, 30_000)

test('a body in flight counts at its memory, four times its bytes, against a bound of 1.75 times the budget, until its request has gone upstream', async () => {
  // The provider works on the first request for 3 s before it answers: its body counts at four times its bytes meanwhile.
  mock.options.latencyMs = 3000
  try {
    const body = chatBody(2 * MiB, true)
    const calls = mock.calls.length
    const working = await startRequest(`Content-Length: ${body.length}`, body)
    await providerCalled(calls)
    mock.options.latencyMs = 0

    // 8 MiB of memory in flight, and 400 KiB of another caller's (1.6 MiB at four times, 2 MiB at five, as a JSON call):
    // within the 10.5 MiB.
    const fits = chatBody(400 * 1024)
    expect((await (await startRequest('Transfer-Encoding: chunked', Buffer.concat([chunk(fits), Buffer.from('0\r\n\r\n')]), other)).answer).slice(0, 12)).toBe('HTTP/1.1 200')

    // Counted at their bytes, 3 MiB of bodies would be far within it.
    const before = await refusedAt('process_in_flight')
    const large = chatBody(MiB)
    const refused = await (await startRequest(`Content-Length: ${large.length}`, large, other)).answer
    expect(refused.slice(0, 12)).toBe('HTTP/1.1 503')
    expect(refused).toContain('"code":"body_read_busy"')
    expect(refused).toContain('in flight')
    expect(await refusedAt('process_in_flight')).toBe(before + 1)

    expect((await working.answer).slice(0, 12)).toBe('HTTP/1.1 200')
    expect((await (await startRequest(`Content-Length: ${large.length}`, large, other)).answer).slice(0, 12)).toBe('HTTP/1.1 200')
  } finally {
    mock.options.latencyMs = 0
  }
}, 30_000)

test('once its request has gone upstream, a body counts in flight at three times its bytes for the rest of its stream', async () => {
  // ~4 s of stream: the two bodies below are read and answered well within it (the stream's [DONE] is checked unsent).
  mock.queue('slow-stream')
  mock.options.chunks = 12
  mock.options.chunkDelayMs = 300
  try {
    const body = chatBody(2 * MiB, true)
    const streaming = await startRequest(`Content-Length: ${body.length}`, body)
    const deadline = Date.now() + 10_000
    while (!streaming.sentSoFar().includes('data:') && Date.now() < deadline) await Bun.sleep(20)
    expect(streaming.sentSoFar().slice(0, 12)).toBe('HTTP/1.1 200')

    // 6 MiB of memory for the stream, 3.9 MiB for this body once admitted as a JSON call: within the 10.5 MiB (at four
    // times, the stream's 8 MiB and this body's 3.1 MiB as it is read pass it).
    const large = chatBody(800 * 1024)
    expect((await (await startRequest(`Content-Length: ${large.length}`, large, other)).answer).slice(0, 12)).toBe('HTTP/1.1 200')

    // The stream still counts: 6 MiB and 8 MiB more pass the 10.5 MiB.
    const before = await refusedAt('process_in_flight')
    const larger = chatBody(2 * MiB)
    const refused = await (await startRequest(`Content-Length: ${larger.length}`, larger, other)).answer
    expect(refused.slice(0, 12)).toBe('HTTP/1.1 503')
    expect(refused).toContain('in flight')
    expect(await refusedAt('process_in_flight')).toBe(before + 1)
    expect(streaming.sentSoFar()).not.toContain('[DONE]')

    expect((await streaming.answer).slice(0, 12)).toBe('HTTP/1.1 200')
  } finally {
    mock.options.chunks = undefined
    mock.options.chunkDelayMs = undefined
  }
}, 30_000)

test("a second body of one caller counts in flight too, within its caller's share, until its answer is over", async () => {
  mock.options.latencyMs = 1500
  try {
    // 7.5 MiB of memory while its JSON answer is awaited (five times its bytes).
    const body = chatBody(1.5 * MiB)
    const calls = mock.calls.length
    const working = await startRequest(`Content-Length: ${body.length}`, body)
    await providerCalled(calls)

    // 500 KB: past 64 KiB (BUN_READS_WHOLE_BYTES), read in pieces; a body Bun reads whole: small-bodies-claimed.test.ts.
    const whole = chatBody(500_000)
    const refused = await (await startRequest(`Content-Length: ${whole.length}`, whole)).answer
    expect(refused.slice(0, 12)).toBe('HTTP/1.1 503')
    expect(refused).toContain('"code":"body_read_busy"')
    expect(refused).toContain('your share')

    const beside = await startRequest(`Content-Length: ${whole.length}`, whole, other)
    expect((await beside.answer).slice(0, 12)).toBe('HTTP/1.1 200')
    expect((await working.answer).slice(0, 12)).toBe('HTTP/1.1 200')
    expect((await (await startRequest(`Content-Length: ${whole.length}`, whole)).answer).slice(0, 12)).toBe('HTTP/1.1 200')
  } finally {
    mock.options.latencyMs = 0
  }
}, 30_000)

test("a JSON call's body counts at five times its bytes while its answer is awaited, where a stream's counts four until its answer begins", async () => {
  // The provider works on each first request for 1.5 s before it answers anything.
  mock.options.latencyMs = 1500
  try {
    const besideRefused = async (stream: boolean) => {
      const body = chatBody(1.5 * MiB, stream)
      const calls = mock.calls.length
      const working = await startRequest(`Content-Length: ${body.length}`, body)
      await providerCalled(calls)
      // 800 KiB of another caller's: 3.125 MiB of memory, beside 6 MiB (four times) within the 10.5 MiB, beside 7.5 MiB (five times) past it.
      const beside = chatBody(800 * 1024)
      const answer = await (await startRequest(`Content-Length: ${beside.length}`, beside, other)).answer
      expect((await working.answer).slice(0, 12)).toBe('HTTP/1.1 200')
      return answer
    }
    const before = await refusedAt('process_in_flight')
    const besideJson = await besideRefused(false)
    expect(besideJson.slice(0, 12)).toBe('HTTP/1.1 503')
    expect(besideJson).toContain('in flight')
    expect(await refusedAt('process_in_flight')).toBe(before + 1)
    expect((await besideRefused(true)).slice(0, 12)).toBe('HTTP/1.1 200')
  } finally {
    mock.options.latencyMs = 0
  }
}, 30_000)

test("an audio call's body counts at four times its bytes until its answer is over, not at a JSON call's five: it is at its peak while read", async () => {
  mock.options.latencyMs = 1500
  try {
    const form = new FormData()
    form.append('model', 'mock:whisper-1')
    form.append('file', new File([new Uint8Array(1.5 * MiB)], 'a.wav', { type: 'audio/wav' }))
    const calls = mock.calls.length
    const working = fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form })
    await providerCalled(calls)
    // The same 800 KiB JSON call the test above refuses beside a JSON call's 1.5 MiB: 3.9 MiB at five times, beside 6 MiB
    // (four times) within the 10.5 MiB, beside 7.5 MiB (five times) past it.
    const beside = chatBody(800 * 1024)
    const answer = await (await startRequest(`Content-Length: ${beside.length}`, beside, other)).answer
    expect({ beside: answer.slice(0, 12), audio: (await working).status }).toEqual({ beside: 'HTTP/1.1 200', audio: 200 })
  } finally {
    mock.options.latencyMs = 0
  }
}, 30_000)

test('bodies let in at four times beside one still being read: a call answered in JSON whose count at five would pass the bound is refused at admission, holding nothing', async () => {
  const body = chatBody(2 * MiB)
  const held = await startRequest(`Content-Length: ${body.length}`, body.subarray(0, 1.5 * MiB))
  await Bun.sleep(300)

  // 6 MiB of memory for what has come of it; another caller's 1 MiB is read beside it at four times (10 MiB of the
  // 10.5 MiB), and admitted as a JSON call at five (11 MiB).
  const spendBefore = (await gw.admin('GET', '/v1/users/other-large-bodies')).body
  const before = await refusedAt('process_in_flight')
  const calls = mock.calls.length
  const beside = chatBody(MiB)
  const answer = await (await startRequest(`Content-Length: ${beside.length}`, beside, other)).answer
  expect(answer.slice(0, 12)).toBe('HTTP/1.1 503')
  expect(answer).toContain('"code":"body_read_busy"')
  expect(answer).toContain('in flight')
  expect(await refusedAt('process_in_flight')).toBe(before + 1)
  expect(mock.calls.length).toBe(calls)
  const spendAfter = (await gw.admin('GET', '/v1/users/other-large-bodies')).body
  expect([spendAfter.spend, spendAfter.reserved]).toEqual([spendBefore.spend, 0])

  held.socket.write(body.subarray(1.5 * MiB))
  expect((await held.answer).slice(0, 12)).toBe('HTTP/1.1 200')
  expect(mock.calls.length).toBe(calls + 1)
}, 30_000)
