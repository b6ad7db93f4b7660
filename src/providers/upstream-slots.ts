import { upstreamBusy } from '../http/errors'
import { BUN_MAX_FETCH_CAP, parseBunFetchCap } from './bun-fetch-cap'

/**
 * How many provider calls that take a hold this process has in flight, against their limit (the free calls have
 * slots of their own: free-call-slots.ts). A provider call's slot is taken before the hold and given back
 * when the hold ends (the call's answer read, or its stream ended): a request over the limit is refused up
 * front, holding nothing, rather than queued by the runtime's own fetch cap after its hold was taken.
 */
export class UpstreamSlots {
  private used = 0

  constructor(
    readonly limit: number,
    private readonly onRefused: () => void = () => {},
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
    throw upstreamBusy(this.limit)
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
 * deleting stored responses, alert webhooks. They have slots of their own, this many at most, so that they can
 * never fill the cap and leave a paid call, its hold taken, waiting unseen in Bun's queue.
 */
export const FREE_CALLS = 32

/** What `BUN_CONFIG_MAX_HTTP_REQUESTS` must be for a limit of `maxUpstreamConcurrency` and the free calls' whole room. */
const fetchCapFor = (maxUpstreamConcurrency: number): number => maxUpstreamConcurrency + FREE_CALLS

/** The two limits a process keeps under Bun's cap: provider calls, and the free calls (`FREE_CALLS` at most). */
interface FetchLimits {
  limit: number
  freeCalls: number
  warning?: string
}

/**
 * The limits this process can keep. Bun's fetch runs at most `BUN_CONFIG_MAX_HTTP_REQUESTS` requests at once
 * (256 unless set to a value Bun takes: `parseBunFetchCap`) and queues the rest unseen; it reads the variable
 * once, when the process starts, so it cannot be raised from here (`npm start` and the container image set it).
 * Under a lower cap the gateway's entry lowers the limits to what the cap allows, with a warning, so that a call
 * past them is still refused before its hold. (A gateway started in-process, by the tests, keeps the limit it is given.)
 *
 * The two always sum to the cap or less: were they over it, free calls could fill it and a paid call admitted
 * after them wait unseen. The free calls keep their room (`FREE_CALLS`) under a cap of 64 or more; under a smaller
 * one the cap is split, the free calls taking the smaller half (none under a cap of 1: they are all refused).
 */
export function effectiveUpstreamLimit(configured: number, env: Record<string, string | undefined> = process.env): FetchLimits {
  const cap = parseBunFetchCap(env.BUN_CONFIG_MAX_HTTP_REQUESTS) ?? BUN_DEFAULT_FETCH_CAP
  if (fetchCapFor(configured) <= cap) return { limit: configured, freeCalls: FREE_CALLS }
  const limit = Math.min(configured, cap - Math.min(FREE_CALLS, Math.floor(cap / 2)))
  const freeCalls = Math.min(FREE_CALLS, cap - limit)
  const lowered = [
    ...(limit < configured ? [`provider calls are limited to ${limit} at once, not ${configured}`] : []),
    ...(freeCalls < FREE_CALLS ? [`the calls that hold nothing (token counts, stored responses, alert webhooks) are limited to ${freeCalls}, not ${FREE_CALLS}${freeCalls === 0 ? ': they are all refused, and no alert is delivered' : ''}`] : []),
  ]
  return {
    limit,
    freeCalls,
    warning: `Bun's fetch cap is ${cap} (${capSource(env.BUN_CONFIG_MAX_HTTP_REQUESTS)}): ${lowered.join('; ')}. ${raisingAdvice(configured, cap)}`,
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
