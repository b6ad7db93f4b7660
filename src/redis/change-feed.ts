import type { KeyStore } from '../keys/key-store'
import type { Logger } from '../log/logger'
import type { PriceBook } from '../pricing/price-book'
import type { RedisLink } from './link'

/** What one process changed that other processes may hold in their caches. */
export type CacheChange = { kind: 'key'; id: string } | { kind: 'user'; id: string } | { kind: 'prices' }

export const CHANGES_CHANNEL = 'tollgate:changes'

/**
 * Tells every replica at once when a key, a user's keys or the prices change, so that a revoked key is
 * refused everywhere without waiting for the cache TTL (which stays as the backstop for a lost message).
 * A replica whose subscription was broken subscribes again and forgets every cached key and price: it
 * cannot know what it missed. So does one that started while Redis was down, once it first subscribes.
 */
export class ChangeFeed {
  /** This process's messages come back to it; it has applied them already. */
  private readonly origin = crypto.randomUUID()
  /** Messages that could not be published (Redis down), for /metrics. */
  lost = 0
  /** One (re)subscription at a time: two overlapping ones could register the listener twice. */
  private subscribing = Promise.resolve()
  private readonly onMessage = (message: string) => this.receive(message)

  constructor(private readonly link: RedisLink, private readonly keys: KeyStore, private readonly prices: PriceBook, private readonly logger: Logger) {}

  /** Connects to Redis (or keeps trying in the background) and listens for other replicas' changes. */
  async start(): Promise<void> {
    let connections = 0
    // Once start stops waiting the gateway serves, and caches, without the feed (Redis down at startup): its
    // first subscription then comes after changes it may have missed, as any later one does.
    let servedWithoutFeed = false
    this.link.onSubscriberConnect = () => {
      const again = connections++ > 0
      const missedChanges = again || servedWithoutFeed
      this.subscribing = this.subscribing.then(() => this.subscribe(again, missedChanges))
    }
    await this.link.start()
    servedWithoutFeed = connections === 0
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
  private async subscribe(again: boolean, missedChanges: boolean): Promise<void> {
    try {
      if (again) await this.link.subscriber.unsubscribe(CHANGES_CHANNEL).catch(() => {})
      await this.link.subscriber.subscribe(CHANGES_CHANNEL, this.onMessage)
    } catch (error) {
      this.logger.log('warn', 'redis: could not subscribe to changes; caches rely on their TTL', { error: (error as Error).message })
    }
    if (missedChanges) this.forgetEverything()
  }

  private receive(message: string): void {
    let change: CacheChange & { origin?: string }
    try {
      change = JSON.parse(message)
    } catch {
      return
    }
    if (change.origin === this.origin) return
    if (change.kind === 'key') this.keys.forget(change.id)
    else if (change.kind === 'user') this.keys.forgetUser(change.id)
    else if (change.kind === 'prices') this.prices.invalidate()
  }

  private forgetEverything(): void {
    this.keys.forgetAll()
    this.prices.invalidate()
  }
}
