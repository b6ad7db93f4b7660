import { RedisClient } from 'bun'
import type { Logger } from '../log/logger'
import { isAuthRefusal, redisAuthRefusal } from './auth-refusal'

/** A command that takes longer than this counts as Redis being down: the request does not wait for it. */
const COMMAND_TIMEOUT_MS = 500
/** Bun's client reconnects on its own; when it gives up (or the first connection fails, or the link dropped it) we start it again after this. */
const RECONNECT_DELAY_MS = 1_000
/** While Redis is down, how often the link asks it in the background whether it is back. */
const PROBE_INTERVAL_MS = 250
/** Commands timed out in a row after which the connection counts as dead (a host gone without closing it) and is made again. */
const TIMEOUTS_BEFORE_RECONNECT = 2
/** The subscriber connection only listens: how often it is asked whether it still answers, and how long it has to. */
const SUBSCRIBER_CHECK_INTERVAL_MS = 5_000
const SUBSCRIBER_CHECK_TIMEOUT_MS = 1_000
/**
 * Down again within this long of coming back, for the reason the last outage was told: the probe passed where a
 * request's command did not. Logged (and counted) only if it lasts this long, never a line per request.
 */
const STEADY_UP_MS = 5_000
/** How long startup waits for Redis before serving in the failure mode. */
const START_WAIT_MS = 1_000

/**
 * Replies of a server that will not serve this connection again as it did: a primary demoted by a failover
 * (READONLY), one loading its data after a restart (LOADING), a replica cut from its primary (MASTERDOWN).
 * Behind one address (a managed Redis's endpoint, a DNS name, a proxy) a new connection may reach the new primary.
 */
const SERVER_REPLACED = /^(READONLY|LOADING|MASTERDOWN)\b/

/**
 * Replies of a server that answers but takes no write, so cannot count a rate limit: at its `maxmemory` under
 * `noeviction` (OOM), after a failed snapshot with `stop-writes-on-bgsave-error` (MISCONF), short of its
 * `min-replicas-to-write` (NOREPLICAS), busy in a long script (BUSY). Down for rate limits as an outage is, but the
 * fix is in Redis's settings or load, not the network: each is its own reason.
 */
const WRITES_REFUSED = { OOM: 'out_of_memory', MISCONF: 'misconf', NOREPLICAS: 'no_replicas', BUSY: 'busy' } as const
type WritesRefused = (typeof WRITES_REFUSED)[keyof typeof WRITES_REFUSED]

/** Why Redis refuses writes, by its reply's code; undefined for any other error. */
export const writesRefused = (error: unknown): WritesRefused | undefined => {
  const code = error instanceof Error ? error.message.split(' ', 1)[0]! : ''
  return Object.hasOwn(WRITES_REFUSED, code) ? WRITES_REFUSED[code as keyof typeof WRITES_REFUSED] : undefined
}

class RedisTimeout extends Error {
  override name = 'RedisTimeout'
}

/** `promise`, or a RedisTimeout once `ms` have passed: Bun's client has no deadline of its own. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RedisTimeout(`redis ${what} took over ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** `redis://host:port/db` without the password, for log lines. */
const redisAddress = (url: string) => {
  const u = new URL(url)
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`
}

/**
 * Why Redis is down: gone (or too slow), refusing tollgate's credentials or rights (its password, user or ACL), or
 * answering but refusing writes (WRITES_REFUSED).
 */
type RedisDownReason = 'unreachable' | 'authentication_failed' | WritesRefused

/**
 * The gateway's connections to Redis: one for commands (rate limits, publishing changes) and one held in
 * subscriber mode, as Redis requires. Neither queues commands while disconnected: a command then fails at
 * once and its caller applies the configured failure mode. Both reconnect by themselves (Bun's client does
 * not subscribe again: onSubscriberConnect's owner does); every change between up and down is logged once
 * and counted. While down, requests do not try Redis at all: a probe in the background finds when it is back.
 */
export class RedisLink {
  readonly commands: RedisClient
  readonly subscriber: RedisClient
  /** Whether the last probe, command or disconnection found Redis serving. */
  private healthy = false
  /** Why, while down (`up` false); what /health tells. */
  downReason: RedisDownReason = 'unreachable'
  private stopped = false
  private readonly timers = new Set<Timer>()
  private readonly watches: Timer[] = []
  private probing: Promise<void> | null = null
  private timeoutsInARow = 0
  /** The connections were dropped in this outage already: told once, not at each of its reconnections (one a second). */
  private reconnectedInOutage = false
  /** Times the link dropped its connections itself: what those connections were doing failed by its doing, and it told why. */
  connectionsDropped = 0
  /** Reply errors (by code) already logged: Redis answering what tollgate did not expect is told once, not per request. */
  private readonly unexpectedReplies = new Set<string>()
  /** Times the link went down, for /metrics. */
  outages = 0
  /** When (performance.now()) the link last came up. */
  private upSince = 0
  /** Down again too soon after coming up to be told yet; its return is not told either unless it was. */
  private relapsed = false
  private relapseCheck: Timer | undefined
  /** Called when the subscriber connection is (re)established: its subscriptions, and messages sent meanwhile, were lost. */
  onSubscriberConnect: () => void = () => {}

  /**
   * `probeCommands`: the commands whose answers say Redis serves again (by default a PING). The gateway's are a
   * rate-limit step in each limit's keys: a demoted primary, or a user without the script's rights or some keys'
   * (an ACL by key pattern), answers PING but not those.
   */
  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly probeCommands: [command: string, args: string[]][] = [['PING', []]],
  ) {
    const options = { enableOfflineQueue: false, autoReconnect: true, maxRetries: 1_000_000, connectionTimeout: 2_000 }
    this.commands = new RedisClient(url, options)
    this.subscriber = new RedisClient(url, options)
    this.commands.onconnect = () => void this.probe()
    this.commands.onclose = () => this.lost(this.commands)
    this.subscriber.onconnect = () => this.onSubscriberConnect()
    this.subscriber.onclose = () => this.lost(this.subscriber)
  }

  /**
   * Connects both, waiting at most START_WAIT_MS: a Redis that is down at startup is not fatal (the failure
   * mode applies until it answers; Bun's client keeps trying, and its connection resolves when it does).
   */
  async start(): Promise<void> {
    const ready = Promise.all([this.connect(this.commands), this.connect(this.subscriber)]).then(() => this.probe())
    let timer: Timer | undefined
    await Promise.race([ready, new Promise((resolve) => (timer = setTimeout(resolve, START_WAIT_MS)))])
    clearTimeout(timer)
    if (this.stopped) return
    if (!this.healthy) this.markDown(new RedisTimeout(`no answer within ${START_WAIT_MS} ms`))
    this.watches.push(
      setInterval(() => void this.probe(), PROBE_INTERVAL_MS),
      setInterval(() => void this.checkSubscriber(), SUBSCRIBER_CHECK_INTERVAL_MS),
    )
  }

  /** Whether rate limits are being shared right now; while not, requests follow the failure mode without trying Redis. */
  get up(): boolean {
    if (this.healthy && !this.commands.connected) this.markDown()
    return this.healthy
  }

  /** Runs a command with a deadline; a failure notes the outage (logged once) and rethrows. */
  async send(command: string, args: string[]): Promise<any> {
    try {
      const reply = await withDeadline(this.commands.send(command, args), COMMAND_TIMEOUT_MS, command)
      this.timeoutsInARow = 0
      return reply
    } catch (error) {
      this.failed(error as Error)
      throw error
    }
  }

  /** Drops the subscriber connection, to make it again a second later (its subscription failed or it stopped answering). */
  reconnectSubscriber(): void {
    if (!this.stopped) this.subscriber.close()
  }

  stop(): void {
    this.stopped = true
    for (const t of this.timers) clearTimeout(t)
    for (const w of this.watches) clearInterval(w)
    clearTimeout(this.relapseCheck)
    this.commands.close()
    this.subscriber.close()
  }

  /**
   * Asks Redis, while it is down, whether it serves again (one probe at a time, never on a request's path):
   * the probe answered, or answered an error that is not an outage, is Redis back.
   */
  private probe(): Promise<void> {
    if (this.healthy || this.stopped || !this.commands.connected) return Promise.resolve()
    this.probing ??= this.sendEach(this.probeCommands)
      .then(
        () => this.markUp(),
        (error) => void (isOutage(error) || this.markUp()),
      )
      .finally(() => (this.probing = null))
    return this.probing
  }

  private async sendEach(commands: [command: string, args: string[]][]): Promise<void> {
    for (const [command, args] of commands) await this.send(command, args)
  }

  private failed(error: Error): void {
    if (!isOutage(error)) {
      this.timeoutsInARow = 0
      this.logUnexpectedReply(error)
      return
    }
    this.markDown(error, isAuthRefusal(error) ? 'authentication_failed' : (writesRefused(error) ?? 'unreachable'))
    this.timeoutsInARow = error instanceof RedisTimeout ? this.timeoutsInARow + 1 : 0
    if (this.timeoutsInARow >= TIMEOUTS_BEFORE_RECONNECT || SERVER_REPLACED.test(error.message)) this.reconnect(error)
  }

  /**
   * Drops both connections, to make them again a second later, as after any lost connection: the server
   * behind the address no longer serves them (it answers READONLY…), or nothing answers on them at all (a
   * host gone without closing them, which Bun would keep for the kernel's quarter of an hour of retransmissions).
   */
  private reconnect(why: Error): void {
    if (this.stopped || !this.commands.connected) return
    this.timeoutsInARow = 0
    if (!this.reconnectedInOutage) this.logger.log('warn', 'redis: dropping its connections to connect again', { redis: redisAddress(this.url), error: why.message })
    this.reconnectedInOutage = true
    this.connectionsDropped++
    this.commands.close()
    this.subscriber.close()
  }

  /** PINGs the subscriber connection: one that does not answer (its host gone silently) is made again. */
  private async checkSubscriber(): Promise<void> {
    if (this.stopped || !this.subscriber.connected) return
    try {
      await withDeadline(this.subscriber.send('PING', []), SUBSCRIBER_CHECK_TIMEOUT_MS, 'PING on the subscriber connection')
    } catch (error) {
      if (error instanceof RedisTimeout) this.reconnectSubscriber()
    }
  }

  private async connect(client: RedisClient): Promise<void> {
    try {
      await client.connect()
    } catch (error) {
      if (client === this.commands) {
        // Bun's client says "Connection closed" whether Redis is gone or refused the login: Redis is asked which.
        const refusal = await redisAuthRefusal(this.url)
        if (refusal) this.markDown(new Error(refusal), 'authentication_failed')
        else this.markDown(error as Error, 'unreachable')
      }
      this.retryLater(client)
    }
  }

  /** A connection closed: one that was up is an outage; a login refused is told by `connect`, which it fails. */
  private lost(client: RedisClient): void {
    if (this.stopped) return
    if (client === this.commands && this.healthy) this.markDown()
    this.retryLater(client)
  }

  private retryLater(client: RedisClient): void {
    if (this.stopped) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      if (!client.connected) void this.connect(client)
    }, RECONNECT_DELAY_MS)
    this.timers.add(timer)
  }

  /** NOSCRIPT apart (the limiter answers it by sending its script), logged once per code: it would recur on every request. */
  private logUnexpectedReply(error: Error): void {
    const code = error.message.split(' ', 1)[0]!
    if (code === 'NOSCRIPT' || this.unexpectedReplies.has(code)) return
    this.unexpectedReplies.add(code)
    this.logger.log('error', 'redis answered an error tollgate did not expect (logged once)', { redis: redisAddress(this.url), error: error.message })
  }

  private markUp(): void {
    if (this.healthy) return
    this.healthy = true
    this.upSince = performance.now()
    this.timeoutsInARow = 0
    this.reconnectedInOutage = false
    clearTimeout(this.relapseCheck)
    if (!this.relapsed) this.logger.log('info', 'redis connected: rate limits are shared', { redis: redisAddress(this.url) })
  }

  /**
   * Notes Redis down, logged once per outage, and again when `reason` (what a connection or a command found) changes
   * it; without one (a timeout at startup, a connection closed) it is `unreachable` unless already down.
   */
  private markDown(error?: Error, reason?: RedisDownReason): void {
    const down = !this.healthy && this.outages > 0
    if (down && (reason === undefined || reason === this.downReason)) return
    const relapse = this.healthy && this.outages > 0 && (reason ?? 'unreachable') === this.downReason && performance.now() - this.upSince < STEADY_UP_MS
    this.healthy = false
    this.downReason = reason ?? 'unreachable'
    if (relapse) return this.tellIfItLasts(error)
    if (!down || this.relapsed) this.outages++
    this.relapsed = false
    this.tellOutage(error)
  }

  /** Down again just after coming up: told and counted only if it lasts STEADY_UP_MS (markUp ends the wait). */
  private tellIfItLasts(error?: Error): void {
    this.relapsed = true
    this.relapseCheck = setTimeout(() => {
      if (this.stopped || this.healthy || !this.relapsed) return
      this.relapsed = false
      this.outages++
      this.tellOutage(error)
    }, STEADY_UP_MS)
  }

  private tellOutage(error?: Error): void {
    const fields = { redis: redisAddress(this.url), error: error?.message ?? 'connection closed' }
    if (this.downReason === 'authentication_failed')
      this.logger.log(
        'error',
        "redis authentication failed: Redis refused tollgate's user, password or rights (check TOLLGATE_REDIS_URL, TOLLGATE_REDIS_PASSWORD and the user's ACL); rate limits follow the configured failure mode until it accepts them",
        fields,
      )
    else if (this.downReason !== 'unreachable')
      this.logger.log(
        'error',
        `redis refuses writes (${this.downReason}): it answers but cannot count rate limits, which follow the configured failure mode until it takes writes again${this.downReason === 'out_of_memory' ? " (tollgate's keys all expire: a maxmemory-policy that evicts, allkeys-lru or volatile-ttl, keeps it writable)" : ''}`,
        fields,
      )
    else this.logger.log('warn', 'redis unreachable: rate limits follow the configured failure mode until it answers', fields)
  }
}

/**
 * A reply error (a script's NOSCRIPT, a wrong type) is Redis answering; anything else is Redis not serving: not
 * answering, or answering that it will not (refused credentials, READONLY…, a write refused: WRITES_REFUSED).
 */
export const isOutage = (error: unknown) => !(error instanceof Error && /^(NOSCRIPT|ERR|WRONGTYPE)/.test(error.message))
