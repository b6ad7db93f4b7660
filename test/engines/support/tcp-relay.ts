/**
 * A TCP relay on a loopback port in front of a server (Postgres in the engine tests), for network faults
 * the server itself cannot show: `freeze()` keeps every connection open but forwards nothing more in either
 * direction (what a dropped route or a stuck server looks like to the client); `thaw()` resumes, delivering
 * what was held back (as TCP retransmission would once the route is back). `onServerChunk`, when given, sees
 * each chunk the server sends before it is forwarded and may answer 'cut' to drop that connection at once,
 * both sides, the chunk undelivered (a reset, a proxy dropping it).
 */
import type { Socket, TCPSocketListener } from 'bun'

export interface TcpRelayOptions {
  onServerChunk?: (chunk: Uint8Array) => 'cut' | void
}

export interface TcpRelay {
  port: number
  /** Connections accepted so far. */
  readonly accepted: number
  freeze(): void
  thaw(): void
  stop(): void
}

export function startTcpRelay(target: number, options: TcpRelayOptions = {}): TcpRelay {
  let frozen = false
  let accepted = 0
  const held: Array<() => void> = []
  type Pair = { peer?: Socket<any>; pending: Uint8Array[] }
  const server: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      async open(client) {
        accepted++
        client.data = { pending: [] }
        const upstream = await Bun.connect<{ peer: Socket<Pair> }>({
          hostname: '127.0.0.1',
          port: target,
          socket: {
            data(s, chunk) {
              const copy = new Uint8Array(chunk)
              if (options.onServerChunk?.(copy) === 'cut') {
                s.data.peer.terminate()
                s.terminate()
                return
              }
              if (frozen) held.push(() => s.data.peer.write(copy))
              else s.data.peer.write(copy)
            },
            close(s) { s.data.peer.end() },
            error(s) { s.data.peer.end() },
          },
          data: { peer: client },
        })
        client.data.peer = upstream
        for (const p of client.data.pending) upstream.write(p)
      },
      data(client, chunk) {
        const copy = new Uint8Array(chunk)
        const send = () => (client.data.peer ? client.data.peer.write(copy) : client.data.pending.push(copy))
        if (frozen) held.push(send)
        else send()
      },
      close(client) { client.data.peer?.end() },
      error(client) { client.data.peer?.end() },
    },
  })
  return {
    port: server.port,
    get accepted() {
      return accepted
    },
    freeze: () => {
      frozen = true
    },
    thaw: () => {
      frozen = false
      for (const f of held.splice(0)) f()
    },
    stop: () => server.stop(true),
  }
}
