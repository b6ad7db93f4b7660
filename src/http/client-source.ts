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
  const address = parsedAddress(ip)
  if (!address) return UNPARSEABLE_SOURCE
  if ('v4' in address) return address.v4
  const prefix = address.v6.slice(0, 4).map((g) => g.toString(16))
  // Trailing zero groups of the prefix are written as `::`, as an address would be.
  while (prefix.length > 0 && prefix.at(-1) === '0') prefix.pop()
  return `${prefix.join(':')}::/64`
}

/** A dotted IPv4 address as it is written when it is already in its one spelling (no leading zeros). */
const CANONICAL_IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

/**
 * A client's address in the one spelling the request log keeps and its `client_ip` filter looks for, however the
 * socket or a trusted proxy wrote it: an IPv4-mapped IPv6 address as its IPv4 address, an IPv6 address as RFC 5952
 * writes it (lower case, no leading zeros, the longest run of zero groups as `::`; a zone kept), anything that is no
 * address as it came. The refusals counted before any key group these by `clientSource`, which reads them alike.
 */
export function clientAddress(ip: string | null): string | null {
  if (ip === null || CANONICAL_IPV4.test(ip)) return ip
  const address = parsedAddress(ip)
  if (!address) return ip
  if ('v4' in address) return address.v4
  const zone = ip.indexOf('%')
  return ipv6Text(address.v6) + (zone === -1 ? '' : ip.slice(zone))
}

/** An IPv4 address (an IPv4-mapped IPv6 one too) as dotted decimal, an IPv6 one as its eight groups, or null. */
function parsedAddress(ip: string): { v4: string } | { v6: number[] } | null {
  if (!ip.includes(':')) {
    const octets = ipv4Octets(ip)
    return octets ? { v4: octets.join('.') } : null
  }
  const groups = ipv6Groups(ip.replace(/%.*$/, ''))
  if (!groups) return null
  // ::ffff:a.b.c.d in any spelling (expanded, in hex, with a zone) is that IPv4 client.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)
    return { v4: [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.') }
  return { v6: groups }
}

/** RFC 5952 §4: the first longest run of two or more zero groups as `::`, the rest in lower-case hex. */
function ipv6Text(groups: number[]): string {
  let runStart = -1
  let runLength = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > runLength) [runStart, runLength] = [i, j - i]
    i = j
  }
  const hex = (part: number[]) => part.map((g) => g.toString(16)).join(':')
  if (runStart === -1) return hex(groups)
  return `${hex(groups.slice(0, runStart))}::${hex(groups.slice(runStart + runLength))}`
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
