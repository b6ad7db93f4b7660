/** Another program (another gateway, perhaps) listens on the configured address. */
export class PortInUseError extends Error {
  override name = 'PortInUseError'
  constructor(host: string, port: number) {
    super(`port ${port} on ${host} is already in use (another tollgate, or another program, listens there); stop it or set TOLLGATE_PORT`)
  }
}

/**
 * Refuses a port another program listens on, before a TOLLGATE_WORKERS group's workers bind it with SO_REUSEPORT:
 * the kernel lets any listener of the same user that set it too (an Elysia app, an older tollgate) share the port,
 * and would split the connections between the group and it. The port's lock keeps out only another tollgate that
 * takes it. A brief listen without SO_REUSEPORT fails then, as a single gateway's does; it is closed at once.
 */
export function ensurePortFree(host: string, port: number): void {
  try {
    Bun.listen({ hostname: host, port, socket: { data() {} } }).stop(true)
  } catch (error) {
    if ((error as { code?: unknown })?.code === 'EADDRINUSE') throw new PortInUseError(host, port)
    throw error
  }
}
