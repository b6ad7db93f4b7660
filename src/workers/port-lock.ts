import type { UnixSocketListener } from 'bun'

export class PortLockedError extends Error {
  override name = 'PortLockedError'
  constructor(port: number) {
    super(`another tollgate (a single gateway or a TOLLGATE_WORKERS group) already serves port ${port} on this host; stop it or set TOLLGATE_PORT`)
  }
}

export interface PortLock {
  release(): void
}

/**
 * One gateway, or one worker group, per port on this host. The lock is a Linux abstract unix socket named
 * for the port, bound by the gateway (or the group's primary) for as long as it runs:
 * - the kernel releases it when the holder dies, kill -9 included: no stale lock file to clean up;
 * - its namespace is the network namespace, the very scope of the TCP port it guards (two containers with
 *   their own network each have their own; two sharing one, as in a pod, see each other's lock);
 * - it needs no writable folder agreed on by every install.
 * Workers bind the TCP port with SO_REUSEPORT, which the kernel would let any other process of the same
 * user join; this lock is what refuses a second, independent group (and ensurePortFree, in port-in-use.ts, a
 * program that is no tollgate already listening there). It is per port, whatever the address:
 * two gateways on one port and different addresses of one host are refused too, which no setup needs.
 * Elsewhere than Linux there is no abstract namespace: null (a single gateway's port is then guarded by the
 * listen itself; worker groups are refused at startup).
 */
export function lockPort(port: number): PortLock | null {
  if (process.platform !== 'linux') return null
  let listener: UnixSocketListener<undefined>
  try {
    listener = Bun.listen({ unix: `\0tollgate:port:${port}`, socket: { data() {} } })
  } catch (error) {
    if ((error as { code?: string }).code === 'EADDRINUSE') throw new PortLockedError(port)
    throw error
  }
  return { release: () => listener.stop(true) }
}
