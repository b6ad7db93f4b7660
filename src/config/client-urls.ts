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
    return withoutCredentials(error instanceof Error ? error.message : String(error), url)
  }
}

/**
 * `reason` with `url`'s credentials masked: its password as withoutPassword does, and a user-info without `:` whole
 * (`***@`), for it may be a token: a proxy may take its token as the user name (`https://<token>@proxy`), and
 * Redis URLs have been written `redis://<password>@host`. A user name alone is masked only where a URL's user-info
 * starts (after `//`, a quote, a space), not inside a word: a one-letter user (`a`) leaves `data@` as it is. An empty
 * password (`<token>:@`, curl's `-u <token>:`) is no password: the user-info is masked whole, with or without its `:`
 * (a URL parser prints it without).
 */
export function withoutCredentials(reason: string, url: string): string {
  const { user, password } = userInfoOf(url)
  if (password !== undefined && password !== '') return withoutPassword(reason, url)
  let masked = reason
  for (const form of writtenForms(user, () => new URL(url).username)) {
    masked = masked.replace(new RegExp(`(?<![A-Za-z0-9._~%-])${RegExp.escape(form)}:?@`, 'g'), '***@')
  }
  return masked
}

/**
 * `reason` with `url`'s password masked wherever the URL's user-info appears in it (the URL echoed whole or in
 * part, as written, as a URL parser prints it, or decoded), and nothing else: a short password (`p`) is found in
 * unrelated words (`prefer`), a user-info with its `:` and `@` is not.
 */
export function withoutPassword(reason: string, url: string): string {
  const { user, password } = userInfoOf(url)
  if (password === undefined) return reason
  let masked = reason
  for (const form of writtenForms(password, () => new URL(url).password)) masked = masked.replaceAll(`${user}:${form}@`, `${user}:***@`)
  return masked
}

/** A user-info part as written, decoded, and as a URL parser prints it: a part that is no valid escape, or a URL the parser refuses, has fewer. */
function writtenForms(part: string, parsed: () => string): string[] {
  const written = new Set([part])
  try {
    written.add(decodeURIComponent(part))
    written.add(parsed())
  } catch {}
  return [...written].filter((form) => form !== '')
}

/**
 * `url` logging in with `password`, percent-encoded so that any character is taken (a `/`, `+` or `=` of
 * `openssl rand -base64`, an `@`, a `%`), in place of a password written in it; its user and the rest are kept.
 */
export function withPassword(url: string, password: string): string {
  const { scheme, user, hostAndRest } = userInfoOf(url)
  return `${scheme}${user}:${encodeURIComponent(password)}@${hostAndRest}`
}

/** A URL's parts around its user-info, as written (nothing decoded); `password` undefined when it has none. */
function userInfoOf(url: string): { scheme: string; user: string; password?: string; hostAndRest: string } {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0]
  if (scheme === undefined) return { scheme: '', user: '', hostAndRest: url }
  const rest = url.slice(scheme.length)
  const authority = /^[^/?#]*/.exec(rest)![0]
  // The user-info ends at the authority's last `@`: a password with an unencoded `@` (`p@ss`) is taken whole.
  const at = authority.lastIndexOf('@')
  const userInfo = at < 0 ? '' : authority.slice(0, at)
  const hostAndRest = rest.slice(at + 1)
  const colon = userInfo.indexOf(':')
  if (colon < 0) return { scheme, user: userInfo, hostAndRest }
  return { scheme, user: userInfo.slice(0, colon), password: userInfo.slice(colon + 1), hostAndRest }
}
