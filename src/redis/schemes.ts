/**
 * The URL schemes tollgate takes for Redis, and whether Bun's client reaches each over TLS. Every place that
 * connects to `redis_url` decides its transport here, so that none speaks in cleartext to a server the client
 * was told to reach over TLS (the URL's password is the first thing written on a connection).
 */
const TLS_BY_SCHEME: Record<string, boolean> = { redis: false, rediss: true, valkey: false, valkeys: true }

/** The schemes `redis_url` may have, for the config's check. */
export const REDIS_SCHEMES = Object.keys(TLS_BY_SCHEME)

/** Whether Bun's client reaches `url` over TLS; undefined for a scheme not in REDIS_SCHEMES. */
export function redisUsesTls(url: string): boolean | undefined {
  return TLS_BY_SCHEME[new URL(url).protocol.slice(0, -1).toLowerCase()]
}
