import { RedisClient, SQL } from 'bun'

/**
 * Whether Bun's own client takes a URL, asked of the client itself: a URL that passes the schema's pattern may
 * still be one it refuses when the gateway opens it (a port past 65535, an `sslmode` it does not know, a Redis
 * database that is not a number), and that refusal was an uncaught TypeError naming no setting. Constructing
 * a client does not connect. Null when it takes the URL, else its reason, never with the URL's password.
 */
export function postgresUrlProblem(url: string): string | null {
  return clientRefusal(url, () => void new SQL(url, { max: 1 }).close())
}

export function redisUrlProblem(url: string): string | null {
  return clientRefusal(url, () => new RedisClient(url, { autoReconnect: false }).close())
}

function clientRefusal(url: string, construct: () => void): string | null {
  try {
    construct()
    return null
  } catch (error) {
    return withoutPassword(error instanceof Error ? error.message : String(error), url)
  }
}

/**
 * `reason` with `url`'s password masked wherever the URL's user-info appears in it (the URL echoed whole or in
 * part, as written, as a URL parser prints it, or decoded), and nothing else: a short password (`p`) is found in
 * unrelated words (`prefer`), a user-info with its `:` and `@` is not.
 */
export function withoutPassword(reason: string, url: string): string {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1] ?? ''
  // The user-info ends at the authority's last `@`: a password with an unencoded `@` (`p@ss`) is taken whole.
  const userInfo = authority.slice(0, Math.max(0, authority.lastIndexOf('@')))
  const colon = userInfo.indexOf(':')
  if (colon < 0) return reason
  const user = userInfo.slice(0, colon)
  const password = userInfo.slice(colon + 1)
  const written = new Set([password])
  // A password that is no valid escape, or a URL the parser refuses, has fewer forms to mask.
  try {
    written.add(decodeURIComponent(password))
    written.add(new URL(url).password)
  } catch {}
  let masked = reason
  for (const form of written) if (form !== '') masked = masked.replaceAll(`${user}:${form}@`, `${user}:***@`)
  return masked
}
