import type { Config } from '../config/schema'

/**
 * The settings a TOLLGATE_WORKERS group runs by for its life, whatever the configuration file says when a worker
 * is (re)started: the port its lock guards; the one store whose budgets it keeps, and the Redis its rate limits
 * are counted in; the shutdown grace and database timeout that bound each worker's stop, which the primary waits
 * out before it takes a worker for hung; and the hold TTL, which every worker's sweeper applies to every
 * worker's holds, with the upstream timeout it is checked against. A worker reading other values from an edited
 * file would keep a ledger of its own, be killed while still draining, or sweep its siblings' calls in full.
 */
const PINNED = [
  'host', 'port', 'db', 'database_url', 'redis_url',
  'shutdown_grace_ms', 'database_timeout_ms', 'reservation_ttl_sec', 'upstream_timeout_ms',
] as const

/** Set by the primary on each worker it starts (never by hand): the group's values of PINNED, as JSON. */
export const GROUP_SETTINGS_ENV = 'TOLLGATE_GROUP_SETTINGS'

/** The primary's part: its own values, a setting it runs without (no database_url) as null. */
export function groupSettingsEnv(config: Config): Record<string, string> {
  return { [GROUP_SETTINGS_ENV]: JSON.stringify(Object.fromEntries(PINNED.map((name) => [name, config[name] ?? null]))) }
}

/** The worker's part: the group's values over what the file and environment say, before the schema reads them. */
export function pinGroupSettings(raw: Record<string, unknown>, env: Record<string, string | undefined>): void {
  const pinned = env[GROUP_SETTINGS_ENV]
  if (pinned === undefined) return
  for (const [name, value] of Object.entries(JSON.parse(pinned) as Record<string, unknown>)) {
    if (value === null) delete raw[name]
    else raw[name] = value
  }
  // The group's URLs carry their passwords already (the schema put them there); one written since is not the group's.
  delete raw.database_password
  delete raw.redis_password
}
