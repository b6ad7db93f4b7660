/**
 * A TCP relay in front of Postgres that, when armed, drops the connection whose server answer carries the next
 * COMMIT's CommandComplete: the transaction committed, and its client never hears so (a TCP reset, a proxy
 * dropping the connection, a failover).
 */
import { startTcpRelay } from './tcp-relay'

const COMMIT = new TextEncoder().encode('COMMIT\0')

/** Whether a chunk from Postgres carries COMMIT's CommandComplete ('C', int32 length, tag). */
function carriesCommit(b: Uint8Array): boolean {
  outer: for (let i = 0; i + COMMIT.length <= b.length; i++) {
    for (let j = 0; j < COMMIT.length; j++) if (b[i + j] !== COMMIT[j]) continue outer
    if (i >= 5 && b[i - 5] === 0x43) return true
  }
  return false
}

export interface CommitCutter {
  port: number
  /** The next COMMIT's answer is lost (once). */
  arm(): void
  disarm(): void
  /** How many answers were cut so far. */
  cuts(): number
  stop(): void
}

export function commitCutter(target: number): CommitCutter {
  let armed = false
  let cut = 0
  const relay = startTcpRelay(target, {
    onServerChunk(chunk) {
      if (!armed || !carriesCommit(chunk)) return
      armed = false
      cut++
      return 'cut'
    },
  })
  return { port: relay.port, arm: () => void (armed = true), disarm: () => void (armed = false), cuts: () => cut, stop: relay.stop }
}
