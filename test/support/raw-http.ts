/**
 * A request written byte for byte on its own TCP connection, for what no HTTP client sends: no Host,
 * an invalid Host, HTTP/1.0, malformed request lines. The server is expected to close the connection
 * after answering (send `Connection: close`, or speak HTTP/1.0).
 */
import { connect } from 'node:net'

export interface RawResponse {
  status: number
  /** Header lines as sent, lower-cased names. */
  headers: Map<string, string>
  body: string
  raw: string
}

export function sendRaw(port: number, request: string | Uint8Array, timeoutMs = 5_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    const timer = setTimeout(() => socket.destroy(new Error('no answer')), timeoutMs)
    socket.on('connect', () => socket.write(request))
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    socket.on('close', () => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('latin1')
      const split = text.indexOf('\r\n\r\n')
      const head = split === -1 ? text : text.slice(0, split)
      const [statusLine = '', ...lines] = head.split('\r\n')
      const headers = new Map<string, string>()
      for (const line of lines) {
        const colon = line.indexOf(':')
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
      }
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)
      resolve({ status: match ? Number(match[1]) : 0, headers, body: split === -1 ? '' : text.slice(split + 4), raw: text })
    })
  })
}

/** A request line, headers and body as one HTTP/1.x message (Content-Length added for a body). */
export function message(requestLine: string, headers: Record<string, string> = {}, body = ''): string {
  const lines = [requestLine, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
  if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`)
  return `${lines.join('\r\n')}\r\n\r\n${body}`
}

/**
 * The body of a raw HTTP/1.1 response (its head included) sent `Transfer-Encoding: chunked`, the chunks' framing
 * taken out, as far as it came: a stream's chunks may end anywhere, inside an event or a JSON string. Read the
 * response as latin1, one character a byte, for the chunk sizes to count right.
 */
export function unchunked(raw: string): string {
  let at = raw.indexOf('\r\n\r\n')
  if (at === -1) return ''
  at += 4
  let body = ''
  for (;;) {
    const sizeEnd = raw.indexOf('\r\n', at)
    const size = sizeEnd === -1 ? 0 : parseInt(raw.slice(at, sizeEnd), 16)
    if (!(size > 0)) return body
    body += raw.slice(sizeEnd + 2, sizeEnd + 2 + size)
    at = sizeEnd + 2 + size + 2
  }
}
