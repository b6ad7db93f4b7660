import { redisUsesTls } from './schemes'

/** Redis's answers that refuse the client's credentials or its rights: the password, the user, or the user's ACL. */
const AUTH_REFUSAL = /^-(WRONGPASS|NOAUTH|NOPERM)\b/

/** Whether an error a command drew is Redis refusing tollgate's credentials or rights (not Redis unreachable). */
export const isAuthRefusal = (error: unknown): boolean => error instanceof Error && AUTH_REFUSAL.test(`-${error.message}`)

const resp = (args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`

/**
 * Why a connection to `url` failed, when Redis itself refused it: Bun's client reports a refused AUTH (or a
 * command a server that requires a password answers NOAUTH) only as "Connection closed", as it reports a server
 * gone. So this asks Redis once, on a connection of its own, as the client would log in (AUTH with the URL's user
 * and password, or a PING without one), and returns Redis's refusal (`WRONGPASS invalid username-password pair…`),
 * never the password; null when Redis accepted, or did not answer in `timeoutMs`. It connects over TLS whenever
 * the client does, and not at all for a scheme whose transport is not known (the password never leaves weaker).
 */
export function redisAuthRefusal(url: string, timeoutMs = 1_000): Promise<string | null> {
  const tls = redisUsesTls(url)
  if (tls === undefined) return Promise.resolve(null)
  const u = new URL(url)
  const user = decodeURIComponent(u.username)
  const password = decodeURIComponent(u.password)
  const login = password ? ['AUTH', ...(user ? [user] : []), password] : ['PING']
  return new Promise((resolve) => {
    let answered = ''
    let socket: { end(): void } | null = null
    // Resolved before the socket is ended: ending it runs `close` at once, which would answer null first.
    const done = (refusal: string | null) => {
      clearTimeout(timer)
      resolve(refusal)
      socket?.end()
    }
    const timer = setTimeout(() => done(null), timeoutMs)
    Bun.connect({
      hostname: u.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(u.port || 6379),
      tls,
      socket: {
        open: (s) => void s.write(resp(login)),
        data: (_, chunk) => {
          answered += chunk.toString()
          const end = answered.indexOf('\r\n')
          if (end < 0) return
          const line = answered.slice(0, end)
          done(AUTH_REFUSAL.test(line) ? line.slice(1) : null)
        },
        close: () => done(null),
        error: () => done(null),
        connectError: () => done(null),
      },
    }).then(
      (s) => void (socket = s),
      () => done(null),
    )
  })
}
