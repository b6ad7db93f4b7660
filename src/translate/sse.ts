/** One server-sent event: its name (null when unnamed), its joined `data:` lines, and its text as received. */
export interface SseEvent {
  event: string | null
  data: string
  raw: string
}

/**
 * Cuts a byte stream into server-sent events as bytes arrive: complete events come out, a partial one
 * waits for more. Line endings may be \n, \r\n or \r.
 */
export class SseParser {
  private readonly decoder = new TextDecoder()
  private pending = ''

  push(bytes: Uint8Array): SseEvent[] {
    this.pending += this.decoder.decode(bytes, { stream: true })
    return this.take(false)
  }

  /** The stream ended: whatever is left is the last event. */
  end(): SseEvent[] {
    this.pending += this.decoder.decode()
    return this.take(true)
  }

  private take(final: boolean): SseEvent[] {
    // A \r at the very end may be the first half of a \r\n split across reads: it waits for the next byte.
    const held = !final && this.pending.endsWith('\r') ? '\r' : ''
    if (held) this.pending = this.pending.slice(0, -1)
    if (this.pending.includes('\r')) this.pending = this.pending.replace(/\r\n?/g, '\n')
    const events: SseEvent[] = []
    let start = 0
    for (let end = this.pending.indexOf('\n\n'); end !== -1; end = this.pending.indexOf('\n\n', start)) {
      events.push(parseEvent(this.pending.slice(start, end)))
      start = end + 2
    }
    this.pending = this.pending.slice(start) + held
    if (final && this.pending.trim() !== '') events.push(parseEvent(this.pending.replace(/\n+$/, '')))
    if (final) this.pending = ''
    return events
  }
}

function parseEvent(raw: string): SseEvent {
  // Most events are one `data:` line: no need to split them.
  if (raw.startsWith('data: ') && !raw.includes('\n')) return { event: null, data: raw.slice(6), raw }
  let event: string | null = null
  const data: string[] = []
  for (const line of raw.split('\n')) {
    const value = (prefix: string) => line.slice(line.charAt(prefix.length) === ' ' ? prefix.length + 1 : prefix.length)
    if (line.startsWith('data:')) data.push(value('data:'))
    else if (line.startsWith('event:')) event = value('event:')
  }
  return { event, data: data.join('\n'), raw }
}

/** An event as text: named (Anthropic's streams) or bare `data:` (OpenAI's). */
export function formatSse(data: unknown, event?: string): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data)
  return event ? `event: ${event}\ndata: ${payload}\n\n` : `data: ${payload}\n\n`
}

/** Parses an event's JSON payload; undefined when it is not JSON. */
export function jsonOf<T = unknown>(event: SseEvent): T | undefined {
  try {
    return JSON.parse(event.data) as T
  } catch {
    return undefined
  }
}
