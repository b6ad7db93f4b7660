/**
 * How an operator writes an amount in USD or a whole number: plain decimal digits, an amount with an optional
 * fraction. Number() alone also reads `0x10` (16), `1e3` (1000), `Infinity` and padded text, and a browser's
 * number field drops a decimal comma ("1,5" becomes 15). Shared by the CLI's options and the console's fields
 * (bundled from here into `ui/`): plain TypeScript, no runtime imports.
 */

export type PlainKind = 'usd' | 'integer'

const PLAIN: Record<PlainKind, RegExp> = { usd: /^\d+(\.\d+)?$/, integer: /^\d+$/ }

/** The spelling each kind takes, for a message that refuses another. */
export const PLAIN_SPELLING: Record<PlainKind, string> = {
  usd: 'an amount in USD in digits, such as 5 or 0.25',
  integer: 'a whole number in digits, such as 60',
}

/** The number `raw` spells, or null when it is spelt any other way. */
export function plainNumber(raw: string, kind: PlainKind): number | null {
  const n = Number(raw)
  return PLAIN[kind].test(raw) && Number.isFinite(n) ? n : null
}
