import { existsSync, readFileSync } from 'node:fs'

const ESTABLISHED = '01'

/**
 * The bytes the kernel holds on the established TCP connections to or from `port`, both ways: sent and not yet
 * acknowledged, or received and not yet read by the process at that end (Linux's /proc/net/tcp and tcp6).
 */
export function queuedBytes(port: number): number {
  let queued = 0
  // tcp6 is absent where IPv6 is off; tcp, where there is no /proc (not Linux): then the wait fails saying so.
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6'].filter((table, i) => i === 0 || existsSync(table))) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, remote, state, queues] = line.trim().split(/\s+/)
      if (state !== ESTABLISHED || (portOf(local!) !== port && portOf(remote!) !== port)) continue
      const [tx, rx] = queues!.split(':').map((hex) => parseInt(hex, 16))
      queued += tx! + rx!
    }
  }
  return queued
}

const portOf = (address: string) => parseInt(address.slice(address.lastIndexOf(':') + 1), 16)

/**
 * Waits until nothing moves on the connections of `port` any more: the bytes the kernel holds on them unchanged for
 * `quietMs`. Then the reader at one end has read all that was sent, or all it will read before its own reader takes
 * something (Bun's fetch stops reading a body that far ahead of its reader, the rest left in the socket buffers).
 */
export async function untilStill(port: number, { quietMs = 500, withinMs = 20_000 } = {}): Promise<void> {
  const deadline = performance.now() + withinMs
  let queued = queuedBytes(port)
  let stillSince = performance.now()
  while (performance.now() - stillSince < quietMs) {
    if (performance.now() > deadline) throw new Error(`the connections of port ${port} still moved after ${withinMs} ms`)
    await Bun.sleep(10)
    const now = queuedBytes(port)
    if (now !== queued) [queued, stillSince] = [now, performance.now()]
  }
}
