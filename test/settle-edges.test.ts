import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, openAIEvent, scriptedGateway, type ScriptedUpstream, sseResponse } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * How a stream is settled when it ends at the edges: closed cleanly before any output (released, like a
 * dropped connection), an Anthropic error right after `message_start` (released), and closed without usage
 * after some output (charged the estimate). Every route and provider pairing that streams.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('team-edges'))
})
afterAll(() => stop())

interface Route {
  name: string
  path: string
  model: string
}

const ROUTES: Route[] = [
  { name: 'chat → openai', path: '/v1/chat/completions', model: 'plain:m' },
  { name: 'chat → anthropic', path: '/v1/chat/completions', model: 'ant:m' },
  { name: 'messages → anthropic', path: '/v1/messages', model: 'ant:m' },
  { name: 'messages → openai', path: '/v1/messages', model: 'plain:m' },
]

async function streamThrough(route: Route): Promise<{ status: number; text: string }> {
  const res = await fetch(gw.url + route.path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: route.model, max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Say something' }] }),
  })
  return { status: res.status, text: await res.text() }
}


const MESSAGE_START = anthropicEvent({
  type: 'message_start',
  message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } },
})

describe('a 200 stream that closes before any output is released, as a dropped one is', () => {
  for (const route of ROUTES) {
    test(`${route.name}: no events at all → no charge, status error`, async () => {
      upstream.answer(() => sseResponse([]))
      const row = await settledRow(gw, 'team-edges', async () => {
        const { status, text } = await streamThrough(route)
        expect(status).toBe(200)
        expect(text).toContain('ended before it finished')
      })
      expect(row.reserved).toBeGreaterThan(0)
      expect(row).toMatchObject({ status: 'error', cost: 0, completion_tokens: 0 })
    })
  }

  for (const route of ROUTES.filter((r) => r.model === 'ant:m')) {
    test(`${route.name}: message_start then the provider's error event → no charge`, async () => {
      upstream.answer(() =>
        sseResponse([MESSAGE_START, anthropicEvent({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })]),
      )
      const row = await settledRow(gw, 'team-edges', async () => {
        const { status, text } = await streamThrough(route)
        expect(status).toBe(200)
        expect(text).toContain('Overloaded')
      })
      expect(row).toMatchObject({ status: 'error', cost: 0 })
    })

    test(`${route.name}: message_start, then closed → no charge`, async () => {
      upstream.answer(() => sseResponse([MESSAGE_START]))
      const row = await settledRow(gw, 'team-edges', async () => {
        expect((await streamThrough(route)).status).toBe(200)
      })
      expect(row).toMatchObject({ status: 'error', cost: 0 })
    })
  }
})

describe('a stream that closes without usage after some output is charged the estimate', () => {
  test('chat → openai: one content delta, then closed', async () => {
    upstream.answer(() => sseResponse([openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'Hi' } }] })]))
    const row = await settledRow(gw, 'team-edges', async () => {
      expect((await streamThrough(ROUTES[0]!)).status).toBe(200)
    })
    expect(row.status).toBe('error')
    expect(row.cost).toBe(row.reserved)
  })

  test('messages → anthropic: one text delta, then closed', async () => {
    upstream.answer(() =>
      sseResponse([
        MESSAGE_START,
        anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } }),
      ]),
    )
    const row = await settledRow(gw, 'team-edges', async () => {
      expect((await streamThrough(ROUTES[2]!)).status).toBe(200)
    })
    expect(row.status).toBe('error')
    expect(row.cost).toBe(row.reserved)
  })
})
