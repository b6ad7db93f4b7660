/**
 * The client an address counts as, wherever requests are counted per client (the per-IP rate limit, the
 * console's sign-in limit, refusals in the request log): an IPv4 address as it is (an IPv4-mapped IPv6 one
 * too), an IPv6 address by its /64, which is one subscriber's allocation (a single host may use every
 * address in it). Anything else (a trusted proxy's odd header) is kept, cut short.
 */
export function clientSource(ip: string | null): string | null {
  if (ip === null || !ip.includes(':')) return ip
  const groups = ipv6Groups(ip.replace(/%.*$/, ''))
  if (!groups) return ip.slice(0, 64)
  // ::ffff:a.b.c.d in any spelling (expanded, in hex, with a zone) is that IPv4 client.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.')
  const prefix = groups.slice(0, 4).map((g) => g.toString(16))
  // Trailing zero groups of the prefix are written as `::`, as an address would be.
  while (prefix.length > 0 && prefix.at(-1) === '0') prefix.pop()
  return `${prefix.join(':')}::/64`
}

/** The eight 16-bit groups of an IPv6 address, or null when it is not one. */
function ipv6Groups(address: string): number[] | null {
  const halves = address.split('::')
  if (halves.length > 2) return null
  const parse = (part: string): number[] | null => {
    if (part === '') return []
    const out: number[] = []
    for (const g of part.split(':')) {
      const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(g)
      if (v4) {
        const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
        if (a > 255 || b > 255 || c > 255 || d > 255) return null
        out.push((a << 8) | b, (c << 8) | d)
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
