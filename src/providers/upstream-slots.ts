import { upstreamBusy } from '../http/errors'
import { BUN_MAX_FETCH_CAP, parseBunFetchCap } from './bun-fetch-cap'

/**
 * How many calls of one kind this process has in flight, against their limit: provider calls that take a
 * hold, or the free calls (see `FREE_CALLS`). A provider call's slot is taken before the hold and given back
 * when the hold ends (the call's answer read, or its stream ended): a request over the limit is refused up
 * front, holding nothing, rather than queued by the runtime's own fetch cap after its hold was taken.
 */
export class UpstreamSlots {
  private used = 0

  constructor(
    readonly limit: number,
    private readonly onRefused: () => void = () => {},
    /** What the slots are for, as a refusal names them. */
    private readonly calls = 'provider calls',
  ) {}

  get inFlight(): number {
    return this.used
  }

  get free(): number {
    return this.limit - this.used
  }

  /** Takes a slot or throws 503 `upstream_busy` with Retry-After. Returns the function that gives it back, once. */
  take(): () => void {
    const giveBack = this.tryTake()
    if (giveBack) return giveBack
    this.onRefused()
    throw upstreamBusy(this.limit, this.calls)
  }

  /** Takes a slot if one is free (the function that gives it back, once), else null: for a caller that can wait its turn. */
  tryTake(): (() => void) | null {
    if (this.used >= this.limit) return null
    this.used++
    let given = false
    return () => {
      if (given) return
      given = true
      this.used--
    }
  }
}

/** Bun's own fetch cap when `BUN_CONFIG_MAX_HTTP_REQUESTS` is not set. */
const BUN_DEFAULT_FETCH_CAP = 256
/**
 * Room under Bun's cap for the calls that hold nothing: count_tokens, Responses `input_tokens`, reading or
 * deleting stored responses, alert webhooks. They have slots of their own, this many, so that they can never
 * fill the cap and leave a paid call, its hold taken, waiting unseen in Bun's queue.
 */
export const FREE_CALLS = 32

/** What `BUN_CONFIG_MAX_HTTP_REQUESTS` must be for a limit of `maxUpstreamConcurrency`. */
export const fetchCapFor = (maxUpstreamConcurrency: number): number => maxUpstreamConcurrency + FREE_CALLS

/**
 * The limit this process can keep. Bun's fetch runs at most `BUN_CONFIG_MAX_HTTP_REQUESTS` requests at once
 * (256 unless set to a value Bun takes: `parseBunFetchCap`) and queues the rest unseen; it reads the variable
 * once, when the process starts, so it cannot be raised from here (`npm start` and the container image set it).
 * Under a lower cap the gateway's entry lowers the limit to what the cap allows, with a warning, so that a call
 * past it is still refused before its hold. (A gateway started in-process, by the tests, keeps the limit it is given.)
 */
export function effectiveUpstreamLimit(configured: number, env: Record<string, string | undefined> = process.env): { limit: number; warning?: string } {
  const cap = parseBunFetchCap(env.BUN_CONFIG_MAX_HTTP_REQUESTS) ?? BUN_DEFAULT_FETCH_CAP
  if (fetchCapFor(configured) <= cap) return { limit: configured }
  const limit = Math.max(1, cap - FREE_CALLS)
  return {
    limit,
    warning:
      `Bun's fetch cap is ${cap} (${capSource(env.BUN_CONFIG_MAX_HTTP_REQUESTS)}): provider calls are limited to ${limit} at once, not ${configured}. ` +
      raisingAdvice(configured, cap),
  }
}

/** The variable the cap comes from, or, when Bun refused its value, why the cap is Bun's default. */
const capSource = (setting: string | undefined): string =>
  setting === undefined || parseBunFetchCap(setting) !== undefined ? 'BUN_CONFIG_MAX_HTTP_REQUESTS'
  : `Bun's default: it refused BUN_CONFIG_MAX_HTTP_REQUESTS=${JSON.stringify(setting.slice(0, 40))}, not an integer from 1 to ${BUN_MAX_FETCH_CAP}`

/** What to set for the limit configured, never a cap Bun would refuse: past the most its highest cap makes room for, a lower limit. */
function raisingAdvice(configured: number, cap: number): string {
  if (fetchCapFor(configured) <= BUN_MAX_FETCH_CAP)
    return `Start the gateway with BUN_CONFIG_MAX_HTTP_REQUESTS=${fetchCapFor(configured)} or more (npm start and the container image set it).`
  // fetchCapFor(0): the room kept under the cap for the calls that take no slot.
  const highest = BUN_MAX_FETCH_CAP - fetchCapFor(0)
  const raiseCap = cap < BUN_MAX_FETCH_CAP ? `start the gateway with BUN_CONFIG_MAX_HTTP_REQUESTS=${BUN_MAX_FETCH_CAP} and ` : ''
  return `Bun takes no cap above ${BUN_MAX_FETCH_CAP}, room for ${highest} provider calls at most: ${raiseCap}set TOLLGATE_MAX_UPSTREAM_CONCURRENCY to ${highest} or less.`
}
