/**
 * What a client counts as when its address is not one: a trusted proxy's header holding something else.
 * Kept as it came, every new string would be a new client with a whole allowance, so whoever can put
 * anything there (a proxy that passes on what the client sent, a bug) would never be limited. Counted as
 * one client, such requests are limited together, and a proxy writing them shows: refused together, and
 * logged under this name.
 */
export const UNPARSEABLE_SOURCE = 'unparseable'

/**
 * The client an address counts as, wherever requests are counted per client (the per-IP rate limit, the
 * console's sign-in limit, refusals in the request log): an IPv4 address in decimal (an IPv4-mapped IPv6
 * one too), an IPv6 address by its /64, which is one subscriber's allocation (a single host may use every
 * address in it), anything else as UNPARSEABLE_SOURCE.
 */
export function clientSource(ip: string | null): string | null {
  if (ip === null) return null
  if (!ip.includes(':')) return ipv4Octets(ip)?.join('.') ?? UNPARSEABLE_SOURCE
  const groups = ipv6Groups(ip.replace(/%.*$/, ''))
  if (!groups) return UNPARSEABLE_SOURCE
  // ::ffff:a.b.c.d in any spelling (expanded, in hex, with a zone) is that IPv4 client.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.')
  const prefix = groups.slice(0, 4).map((g) => g.toString(16))
  // Trailing zero groups of the prefix are written as `::`, as an address would be.
  while (prefix.length > 0 && prefix.at(-1) === '0') prefix.pop()
  return `${prefix.join(':')}::/64`
}

/**
 * An X-Forwarded-For entry's address without the port some proxies write with it (Azure's load balancers:
 * `192.0.2.1:51234`, `[2001:db8::1]:443`): with it, every new connection would be a new client.
 */
export function withoutPort(entry: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(entry)
  if (bracketed) return bracketed[1]!
  const v4 = /^([\d.]+):\d{1,5}$/.exec(entry)
  return v4 ? v4[1]! : entry
}

/** The four octets of a dotted IPv4 address, or null when it is not one. */
function ipv4Octets(address: string): number[] | null {
  const parts = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address)
  if (!parts) return null
  const octets = parts.slice(1).map(Number)
  return octets.every((o) => o <= 255) ? octets : null
}

/** The eight 16-bit groups of an IPv6 address, or null when it is not one. */
function ipv6Groups(address: string): number[] | null {
  const halves = address.split('::')
  if (halves.length > 2) return null
  const parse = (part: string): number[] | null => {
    if (part === '') return []
    const out: number[] = []
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = ipv4Octets(g)
        if (!v4) return null
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
      } else if (/^[0-9a-f]{1,4}$/i.test(g)) out.push(parseInt(g, 16))
      else return null
    }
    return out
  }
  const head = parse(halves[0]!)
  const tail = halves.length === 2 ? parse(halves[1]!) : []
  if (!head || !tail) return null
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null
  return [...head, ...Array<number>(missing).fill(0), ...tail]
}
