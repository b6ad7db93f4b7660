import { connect } from 'node:net'

/**
 * Sends `payload` as a POST to `url`'s `path`, chunked (`Transfer-Encoding: chunked`), `chunkSize` bytes a chunk, the
 * framing written to the socket ~64 KB at a time: what no HTTP client does with a small `chunkSize`. The raw answer
 * (latin1), once its JSON body has come. The framing is built before this returns, so that a test measuring the
 * gateway while the body is sent does not also measure its own event loop building it.
 */
export function sendChunked(url: string, path: string, headers: Record<string, string>, payload: string, chunkSize: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port) })
    let text = ''
    const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
    const framed: string[] = [`POST ${path} HTTP/1.1\r\nHost: localhost\r\n${head}Transfer-Encoding: chunked\r\n\r\n`]
    let buffered = ''
    for (let i = 0; i < payload.length; i += chunkSize) {
      const chunk = payload.slice(i, i + chunkSize)
      buffered += `${chunk.length.toString(16)}\r\n${chunk}\r\n`
      if (buffered.length > 65_536) {
        framed.push(buffered)
        buffered = ''
      }
    }
    framed.push(`${buffered}0\r\n\r\n`)
    socket.on('connect', () => {
      for (const piece of framed) socket.write(piece)
    })
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1')
      if (!/\r\n\r\n[\s\S]*\}$/.test(text)) return
      // Not left to 'close': with writes still queued, Bun's socket may not emit it until the timeout's destroy.
      resolve(text)
      socket.destroy()
    })
    socket.on('error', () => {})
    socket.on('close', () => resolve(text))
    setTimeout(() => socket.destroy(), 100_000)
  })
}

/**
 * `sendChunked` run in a process of its own, `payload` handed over on its stdin: the test's event loop stays free
 * to time other requests while the body is framed and written.
 */
export async function sendChunkedApart(url: string, path: string, headers: Record<string, string>, payload: string, chunkSize: number): Promise<string> {
  const child = Bun.spawn([process.execPath, import.meta.path, JSON.stringify({ url, path, headers, chunkSize })], { stdin: 'pipe', stdout: 'pipe' })
  void child.stdin.write(payload)
  void child.stdin.end()
  const answer = await new Response(child.stdout).text()
  await child.exited
  return answer
}

if (import.meta.main) {
  const { url, path, headers, chunkSize } = JSON.parse(process.argv[2]!)
  process.stdout.write(await sendChunked(url, path, headers, await Bun.stdin.text(), chunkSize))
  process.exit(0)
}
