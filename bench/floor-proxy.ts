/**
 * The least a proxy in front of the mock can do on this runtime, for bench/floor.ts: parse the JSON body,
 * swap the model, `fetch` the provider, and pass the answer through (the JSON read and parsed, as a
 * gateway must to find its usage; a stream piped as it comes). No auth, no budget, no records.
 *
 *   bun bench/floor-proxy.ts <provider base URL>
 */
const base = process.argv[2]
if (!base) throw new Error('usage: bun bench/floor-proxy.ts <provider base URL>')

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(request) {
    const body = (await request.json()) as Record<string, unknown>
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-bench-upstream', 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, model: 'gpt-mock' }),
    })
    if (body.stream === true) return new Response(res.body, { status: res.status, headers: { 'content-type': 'text/event-stream' } })
    const text = await res.text()
    JSON.parse(text)
    return new Response(text, { status: res.status, headers: { 'content-type': 'application/json' } })
  },
})
console.log(`floor proxy listening on ${server.url.href.replace(/\/$/, '')}`)
