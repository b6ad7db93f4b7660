/**
 * NUL (U+0000): Postgres text and jsonb cannot hold it (SQLSTATE 22021 / 22P05), so no id, name or filter a
 * client sends with one can be stored or match a row. Refused alike on both stores.
 */
export const hasNul = (s: string): boolean => s.includes('\u0000')

/** Where in a parsed JSON body a string (or a key) holds a NUL: its dotted path ('' for the body itself), or null. */
export function nulField(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return hasNul(value) ? path : null
  if (value === null || typeof value !== 'object') return null
  for (const [k, v] of Object.entries(value)) {
    const at = path ? `${path}.${k}` : k
    if (hasNul(k)) return at
    const found = nulField(v, at)
    if (found !== null) return found
  }
  return null
}
