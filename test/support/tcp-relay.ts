/**
 * A TCP relay standing for a server's address, as a managed endpoint, a DNS name or a proxy does: each new
 * connection goes to the port `target()` names at that moment (after a failover, the new primary). The test can
 * cut every open connection (a network blip) or silence them (their host gone without closing them: nothing
 * passes either way, and nothing closes).
 */
import type { Socket } from 'bun'
import { freePort } from './free-port'

type Relayed = { upstream?: Socket<undefined>; pending: Uint8Array[]; silent: boolean; subscribing: boolean }

export interface TcpRelay {
  port: number
  /** Ends every open connection. */
  cut(): void
  /**
   * Stops passing bytes on every open connection (`subscribersOnly`: on those that sent a Redis SUBSCRIBE), without
   * closing any; new connections are relayed as before. Returns how many it silenced.
   */
  silence(subscribersOnly?: boolean): number
  stop(): void
}

export function startTcpRelay(target: () => number): TcpRelay {
  const open = new Set<Socket<Relayed>>()
  const listener = Bun.listen<Relayed>({
    hostname: '127.0.0.1',
    port: freePort(),
    socket: {
      open(client) {
        client.data = { pending: [], silent: false, subscribing: false }
        open.add(client)
        Bun.connect({
          hostname: '127.0.0.1',
          port: target(),
          socket: {
            open(upstream) {
              client.data.upstream = upstream
              for (const chunk of client.data.pending) upstream.write(chunk)
              client.data.pending = []
            },
            data(_, chunk) {
              if (!client.data.silent) client.write(chunk)
            },
            close() {
              if (!client.data.silent) client.end()
            },
            error() {
              if (!client.data.silent) client.end()
            },
          },
        }).catch(() => client.end())
      },
      data(client, chunk) {
        if (client.data.silent) return
        if (/SUBSCRIBE/i.test(Buffer.from(chunk).toString('latin1'))) client.data.subscribing = true
        if (client.data.upstream) client.data.upstream.write(chunk)
        else client.data.pending.push(new Uint8Array(chunk))
      },
      close(client) {
        open.delete(client)
        client.data.upstream?.end()
      },
      error(client) {
        client.data.upstream?.end()
      },
    },
  })
  return {
    port: listener.port,
    cut: () => {
      for (const client of open) client.end()
    },
    silence: (subscribersOnly = false) => {
      let n = 0
      for (const client of open) if (!subscribersOnly || client.data.subscribing) (client.data.silent = true), n++
      return n
    },
    stop: () => listener.stop(true),
  }
}
