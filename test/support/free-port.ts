import { existsSync, readFileSync } from 'node:fs'

/**
 * Where a test's server may listen on a port it picks itself: below the kernel's ephemeral range, which is where a
 * port-0 listener (every gateway a test starts) and every outgoing connection's own end are given theirs. So between
 * the pick and the server's bind — or across a server's restart on the same port — no other test process's sockets
 * take it; only another pick could, one chance in ~12,000.
 */
const EPHEMERAL_LOW = (() => {
  const range = '/proc/sys/net/ipv4/ip_local_port_range'
  const low = existsSync(range) ? Number(readFileSync(range, 'utf8').trim().split(/\s+/)[0]) : 32768
  return Number.isInteger(low) && low > 11000 ? low : 32768
})()
const LOWEST = Math.max(10000, EPHEMERAL_LOW - 12768)

/** A loopback port nobody listens on right now, outside the ephemeral range. */
export function freePort(): number {
  for (;;) {
    const port = LOWEST + Math.floor(Math.random() * (EPHEMERAL_LOW - LOWEST))
    try {
      const probe = Bun.listen({ hostname: '127.0.0.1', port, socket: { data() {} } })
      probe.stop(true)
      return port
    } catch {
      // taken: pick again
    }
  }
}
