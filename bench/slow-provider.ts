/**
 * A provider whose streams are slow: each chat stream waits `--first-ms` before its first event, then sends
 * `--chunks` more every `--gap-ms`, and usage. Every event carries the moment it was sent (`sent_at`, ms on
 * this machine's clock), so that a client can tell how long the gateway took to pass it on.
 *   bun bench/slow-provider.ts --port 0 --first-ms 3000 --chunks 4 --gap-ms 500
 */
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const FIRST_MS = arg('first-ms', 3000)
const CHUNKS = arg('chunks', 4)
const GAP_MS = arg('gap-ms', 500)
const now = () => performance.timeOrigin + performance.now()
const encoder = new TextEncoder()
const chunk = (content: string) =>
  encoder.encode(
    `data: ${JSON.stringify({ id: 'chatcmpl-slow', object: 'chat.completion.chunk', created: 0, model: 'gpt-slow', sent_at: now(), choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`,
  )

const server = Bun.serve({
  port: arg('port', 0),
  hostname: '127.0.0.1',
  idleTimeout: 0,
  async fetch(req) {
    await req.json()
    let sent = 0
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          await Bun.sleep(sent === 0 ? FIRST_MS : GAP_MS)
          if (sent < CHUNKS) {
            controller.enqueue(chunk(`word${sent} `))
            sent++
            return
          }
          controller.enqueue(
            encoder.encode(
              `data: ${JSON.stringify({ id: 'chatcmpl-slow', object: 'chat.completion.chunk', created: 0, model: 'gpt-slow', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: CHUNKS, total_tokens: 10 + CHUNKS } })}\n\ndata: [DONE]\n\n`,
            ),
          )
          controller.close()
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  },
})
console.log(`listening on http://127.0.0.1:${server.port}`)

export {}
