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
    const reason = error instanceof Error ? error.message : String(error)
    const password = /^[a-z]+:\/\/[^/?#@:]*:([^/?#@]+)@/i.exec(url)?.[1]
    return password ? reason.replaceAll(password, '***') : reason
  }
}
