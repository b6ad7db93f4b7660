/**
 * A JSON body that starts with a UTF-8 byte order mark is the same JSON however the client framed it (RFC 8259
 * §8.1 lets a parser ignore the mark). With a Content-Length it is read by `request.text()`, which drops the mark;
 * sent chunked it is counted as it is read (src/plugins/body-limit.ts) and must be decoded the same way: with the
 * mark kept, JSON.parse refused it as malformed (400 invalid_json).
 */
import { expect, test } from 'bun:test'
import { startTestGateway } from './support/gateway'
import { startMockProvider } from './support/mock-provider'

test('a JSON body with a UTF-8 BOM is answered alike with a Content-Length and sent chunked', async () => {
  const mock = startMockProvider()
  const gw = await startTestGateway({ mock })
  try {
    const { secret } = await gw.userWithKey({ id: 'bom', max_budget: 10 })
    const bytes = new TextEncoder().encode('\ufeff' + JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }))
    const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }
    const withLength = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers, body: bytes })
    const chunked = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers,
      body: new ReadableStream({ start: (c) => (c.enqueue(bytes), c.close()) }),
      duplex: 'half',
    } as RequestInit)
    expect({ withLength: withLength.status, chunked: chunked.status }).toEqual({ withLength: 200, chunked: 200 })
  } finally {
    await gw.stop()
    await mock.stop()
  }
})
