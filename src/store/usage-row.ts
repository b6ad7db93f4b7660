/**
 * A usage row keeps the uses of billed server tools (`{"web_search":2}`) as JSON text, the same in both
 * stores; a row with none keeps null, so that the common row carries nothing.
 */
export function toolUsesJson(uses: Record<string, number> | undefined): string | null {
  if (!uses) return null
  const used = Object.entries(uses).filter(([, n]) => n > 0)
  return used.length === 0 ? null : JSON.stringify(Object.fromEntries(used))
}

/** The stored uses as an object ({} for none); text that is not such an object reads as none. */
export function toolUsesOf(stored: string | null): Record<string, number> {
  if (!stored) return {}
  try {
    const value: unknown = JSON.parse(stored)
    if (!value || typeof value !== 'object' || Array.isArray(value)) return {}
    return Object.fromEntries(Object.entries(value).filter((e): e is [string, number] => typeof e[1] === 'number'))
  } catch {
    return {}
  }
}
