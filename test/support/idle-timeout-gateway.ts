/**
 * For the suites on clients that read nothing: a gateway in front of a scripted upstream (`plain:m` at $1/$2 per
 * million) that lets a stream or body go once its client takes nothing of it for a second, with a key of each user;
 * `slots` bounds the provider calls in flight and `connectionIdleSec` Bun's idle timeout. `cleanup` (the test's
 * sockets) runs after the file's tests, before the gateway stops.
 */
import { afterAll, beforeAll } from 'bun:test'
import type { Socket } from 'node:net'
import type { TestGateway } from './gateway'
import { withScriptedGateway, type ScriptedUpstream } from './scripted-upstream'

export interface IdleTimeoutOptions {
  users: Array<{ id: string; max_budget: number }>
  slots?: number
  connectionIdleSec?: number
  cleanup: () => void
}

export function withIdleTimeoutGateway(o: IdleTimeoutOptions, use: (started: { upstream: ScriptedUpstream; gw: TestGateway; secrets: string[] }) => void): void {
  // Declared first: hooks run in the order they are declared.
  afterAll(o.cleanup)
  let started: { upstream: ScriptedUpstream; gw: TestGateway }
  withScriptedGateway(
    {
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
      upstream_idle_timeout_ms: 1_000,
      ...(o.slots === undefined ? {} : { max_upstream_concurrency: o.slots }),
    },
    (s) => (started = s),
    { idleTimeoutSec: o.connectionIdleSec },
  )
  beforeAll(async () => {
    const secrets: string[] = []
    for (const user of o.users) secrets.push((await started.gw.userWithKey(user)).secret)
    use({ ...started, secrets })
  })
}

export interface SlotsTaken {
  upstream: ScriptedUpstream
  gw: TestGateway
  /** The key of the reader who takes the slots. */
  reader: string
  /** Someone else's key, refused while they are taken. */
  other: string
  /** The reader's sockets, destroyed after the file's tests. */
  sockets: Socket[]
}

/**
 * The slot suites' setting: `slots` provider-call slots, Bun's idle timeout at `connectionIdleSec` (1 s unless told),
 * keys of `readerId` and of someone else; set once started.
 */
export function withSlotsGateway(readerId: string, slots: number, connectionIdleSec = 1): SlotsTaken {
  const h = { sockets: [] as Socket[] } as SlotsTaken
  const users = [{ id: readerId, max_budget: 10 }, { id: 'someone-else', max_budget: 10 }]
  withIdleTimeoutGateway({ users, slots, connectionIdleSec, cleanup: () => h.sockets.forEach((s) => s.destroy()) }, (s) => {
    Object.assign(h, { upstream: s.upstream, gw: s.gw, reader: s.secrets[0], other: s.secrets[1] })
  })
  return h
}
