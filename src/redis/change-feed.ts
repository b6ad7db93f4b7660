import { z } from 'zod'
import type { KeyStore } from '../keys/key-store'
import type { Logger } from '../log/logger'
import type { PriceBook } from '../pricing/price-book'
import { isAuthRefusal } from './auth-refusal'
import { withDeadline, type RedisLink } from './link'

/** What one process changed that other processes may hold in their caches. */
export type CacheChange = { kind: 'key'; id: string } | { kind: 'user'; id: string } | { kind: 'prices' }

const CHANGES_CHANNEL = 'tollgate:changes'

/**
 * A message on the channel as replicas publish it. Anyone who may publish there (another application on the same
 * Redis, a tollgate on another db number: pub/sub ignores them) can send anything: what is not one is ignored.
 */
const id = z.string().min(1).max(200)
const origin = z.string().max(64)
const changeMessage = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('key'), id, origin }),
  z.object({ kind: z.literal('user'), id, origin }),
  z.object({ kind: z.literal('prices'), origin }),
])
/** Replicas' messages are under 300 characters; a longer one is not parsed at all (a forged one may be megabytes). */
const MAX_MESSAGE_LENGTH = 4_096

/**
 * How long a (re)subscription may take: Bun's `unsubscribe` and `subscribe` may never settle (Redis answered
 * BUSY, busy with a long script), and the next subscription waits for this one.
 */
const SUBSCRIBE_TIMEOUT_MS = 2_000

/**
 * Tells every replica at once when a key, a user's keys or the prices change, so that a revoked key is
 * refused everywhere without waiting for the cache TTL (which stays as the backstop for a lost message).
 * A replica whose subscription was broken subscribes again and forgets every cached key and price: it
 * cannot know what it missed. So does one that started while Redis was down, once it first subscribes.
 * A subscription that fails (refused, or not answered in time) drops the subscriber connection, which the link
 * makes again a second later: so a replica tries again every second until it hears the channel.
 */
export class ChangeFeed {
  /** This process's messages come back to it; it has applied them already. */
  private readonly origin = crypto.randomUUID()
  /** Messages that could not be published (Redis down), for /metrics. */
  lost = 0
  /** One (re)subscription at a time: two overlapping ones could register the listener twice. */
  private subscribing = Promise.resolve()
  /** Subscriber connections made so far: a subscription for one that was replaced since is left to the new one's. */
  private connections = 0
  private subscribed = false
  /** A failure to subscribe was logged and none has succeeded since. */
  private failing = false
  /** Why, while failing: Redis refused tollgate's rights (NOPERM: the user's ACL lacks the channel). */
  refused = false
  /** Why messages were ignored, each logged once: a publisher must not be able to flood the log. */
  private readonly ignoredFor = new Set<string>()
  /** Nothing may throw out of it: an exception in Bun's subscriber callback ends the process. */
  private readonly onMessage = (message: string) => {
    try {
      this.receive(message)
    } catch (error) {
      this.ignore('handling it failed', (error as Error)?.message)
    }
  }

  constructor(private readonly link: RedisLink, private readonly keys: KeyStore, private readonly prices: PriceBook, private readonly logger: Logger) {}

  /** Connects to Redis (or keeps trying in the background) and listens for other replicas' changes. */
  async start(): Promise<void> {
    // Once start stops waiting the gateway serves, and caches, without the feed (Redis down at startup): its
    // first subscription then comes after changes it may have missed, as any later one does.
    let servedWithoutFeed = false
    this.link.onSubscriberConnect = () => {
      const connection = ++this.connections
      this.subscribed = false
      const missedChanges = connection > 1 || servedWithoutFeed
      this.subscribing = this.subscribing.then(() => this.subscribe(connection, missedChanges))
    }
    await this.link.start()
    servedWithoutFeed = this.connections === 0
  }

  /** Whether this process hears other replicas' changes now; while not, it sees them only after the cache TTL. */
  get listening(): boolean {
    return this.subscribed && this.link.subscriber.connected
  }

  publish(change: CacheChange): void {
    this.link.send('PUBLISH', [CHANGES_CHANNEL, JSON.stringify({ ...change, origin: this.origin })]).catch(() => {
      this.lost++
    })
  }

  /**
   * Bun's client (1.4.4) reconnects but does not subscribe again, and keeps the listener it was given: on a
   * new connection the stale subscription is dropped, listener included, before subscribing again, so that
   * each message is handled once. Caches are forgotten only once the subscription is back: a change made
   * before it is then read from the database, one made after it is heard.
   */
  private async subscribe(connection: number, missedChanges: boolean): Promise<void> {
    if (connection !== this.connections) return
    const dropped = this.link.connectionsDropped
    try {
      if (connection > 1) await withDeadline(this.dropStaleSubscription(), SUBSCRIBE_TIMEOUT_MS, 'UNSUBSCRIBE')
      await withDeadline(this.link.subscriber.subscribe(CHANGES_CHANNEL, this.onMessage), SUBSCRIBE_TIMEOUT_MS, 'SUBSCRIBE')
    } catch (error) {
      // Cut by the link dropping its connections (an address leading to a replica: every second), which it told once.
      if (this.link.connectionsDropped === dropped) this.notSubscribed(error as Error)
      if (connection === this.connections) this.link.reconnectSubscriber()
      return
    }
    this.subscribed = true
    if (this.failing) this.logger.log('info', 'redis: subscribed to changes again')
    this.failing = this.refused = false
    if (missedChanges) this.forgetEverything()
  }

  /** Bun refuses at once when no subscription took (it is not in subscriber mode): then there is none to drop. */
  private async dropStaleSubscription(): Promise<void> {
    try {
      await this.link.subscriber.unsubscribe(CHANGES_CHANNEL)
    } catch {}
  }

  /** Logged once until a subscription succeeds (again if the reason changes): it is retried every second. */
  private notSubscribed(error: Error): void {
    const refused = isAuthRefusal(error)
    if (this.failing && refused === this.refused) return
    this.failing = true
    this.refused = refused
    if (refused)
      this.logger.log(
        'error',
        `redis: could not subscribe to changes: Redis refused tollgate's rights (grant the user the channel ${CHANGES_CHANNEL} in its ACL); caches rely on their TTL until it does`,
        { error: error.message },
      )
    else this.logger.log('warn', 'redis: could not subscribe to changes; caches rely on their TTL until it can (tried again every second)', { error: error.message })
  }

  private receive(message: string): void {
    if (typeof message !== 'string' || message.length > MAX_MESSAGE_LENGTH) return this.ignore('too long')
    let json: unknown
    try {
      json = JSON.parse(message)
    } catch {
      return this.ignore('not JSON')
    }
    const parsed = changeMessage.safeParse(json)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      return this.ignore(`not a change: ${issue ? `${issue.code} at ${issue.path.join('.') || 'the top'}` : 'refused'}`)
    }
    const change = parsed.data
    if (change.origin === this.origin) return
    if (change.kind === 'key') this.keys.forget(change.id)
    else if (change.kind === 'user') this.keys.forgetUser(change.id)
    else if (change.kind === 'prices') this.prices.invalidate()
  }

  /** The reasons are a few fixed phrases (zod's issue codes at the schema's own fields), so the set stays small. */
  private ignore(why: string, error?: string): void {
    if (this.ignoredFor.has(why)) return
    this.ignoredFor.add(why)
    this.logger.log('warn', `redis: ignored a message on ${CHANGES_CHANNEL} (${why}; logged once per reason): something other than a tollgate publishes there`, error === undefined ? {} : { error })
  }

  private forgetEverything(): void {
    this.keys.forgetAll()
    this.prices.invalidate()
  }
}
