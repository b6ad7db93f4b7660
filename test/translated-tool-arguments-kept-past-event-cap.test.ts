/**
 * A chat stream translated for an Anthropic client passes a call's argument text on as it comes when it opens an
 * object, keeping none of it. Two kinds must be kept until they can be written: a call that waits for its block while
 * another's is open (a server interleaving its calls), and text that does not open an object (written whole, as
 * `{"arguments": ...}`, when its block closes). Either goes out as one event, so it is held to the event cap
 * (MAX_EVENT_CHARS): past it the stream ends with an error event in the client's format, as an event too long does,
 * rather than keep growing the gateway's memory.
 */
import { expect, test } from 'bun:test'
import { ChunksToMessageEvents } from '../src/translate/chunks-to-message-events'
import { MAX_EVENT_CHARS } from '../src/translate/sse'

const PIECE = 'a'.repeat(1 << 20)
const PIECES = MAX_EVENT_CHARS / PIECE.length + 1
/** The piece that takes text that began with `start` past the cap. */
const pieceAtCap = (start: string) => Math.floor((MAX_EVENT_CHARS - start.length) / PIECE.length)

const event = (data: unknown) => {
  const text = JSON.stringify(data)
  return { event: null, data: text, raw: `data: ${text}` }
}
const toolDelta = (call: Record<string, unknown>) =>
  event({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { tool_calls: [call] }, finish_reason: null }] })

/** Pushes `first`, then PIECES pieces of argument text for the call at `index`: whether the stream stopped, and at which piece. */
function streamed(first: ReturnType<typeof toolDelta>[], index: number) {
  const converter = new ChunksToMessageEvents()
  for (const e of first) converter.push(e)
  for (let i = 0; i < PIECES; i++) {
    const out = converter.push(toolDelta({ index, function: { arguments: PIECE } }))
    if (converter.broken) return { stoppedAt: i, error: out.includes('event: error') }
  }
  return { stoppedAt: null, error: false }
}

test('a call waiting for its block stops the stream once its kept arguments pass the event cap', () => {
  const result = streamed([
    toolDelta({ index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '{"x":"' } }),
    toolDelta({ index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '{"y":"' } }),
  ], 1)
  expect(result).toEqual({ stoppedAt: pieceAtCap('{"y":"'), error: true })
})

test('arguments that open no object stop the stream once their kept text passes the event cap', () => {
  const result = streamed([toolDelta({ index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '"' } })], 0)
  expect(result).toEqual({ stoppedAt: pieceAtCap('"'), error: true })
})

test('arguments streamed as they come are kept by nobody, so no cap stops them', () => {
  const result = streamed([toolDelta({ index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '{"x":"' } })], 0)
  expect(result).toEqual({ stoppedAt: null, error: false })
})
