/** The highest `BUN_CONFIG_MAX_HTTP_REQUESTS` Bun takes. */
export const BUN_MAX_FETCH_CAP = 65535

/**
 * The fetch cap a value of `BUN_CONFIG_MAX_HTTP_REQUESTS` gives Bun, or undefined when Bun refuses the value and
 * keeps its default. Bun reads it as Zig's `parseInt` reads a 16-bit count: decimal digits, a `+` before them and
 * `_` between them allowed, from 1 to 65535. Anything else ("100000", "300abc", " 4096", "0") it refuses with a
 * line on stderr, not the number `parseInt` would find in it (checked on Bun 1.4.4).
 */
export function parseBunFetchCap(value: string | undefined): number | undefined {
  if (value === undefined || !/^\+?\d+(?:_+\d+)*$/.test(value)) return undefined
  const cap = Number(value.replaceAll('_', '').replace('+', ''))
  return cap >= 1 && cap <= BUN_MAX_FETCH_CAP ? cap : undefined
}
