import { badRequest } from './errors'

/**
 * Go's encoding/json, which Go servers decode request bodies with (Ollama's OpenAI-compatible routes through gin's
 * ShouldBindJSON), matches an object's keys to a struct's fields ignoring case, under Unicode folding (`ſ` is `s`,
 * the Kelvin sign `K` is `k`, `ı` is `i`), and of several keys that match one field the last wins, an exact match
 * included (golang/go#43664). The gateway reads keys as written, and sends on the ones it does not know: next to
 * the `model` it checked and priced, a `Model` would be the model the server runs. So wherever the gateway reads the
 * API's fields — the top level, and each message, input item, tool, system block, content part or block, tool call
 * and tool output — every key must be written as those fields are, in lowercase: no two keys there can then match
 * one field, nor a key stand in for one the gateway reads. Deeper objects are not checked: tool schemas, tool
 * inputs and metadata have keys of the client's own choosing, which count toward the estimate by their bytes.
 */

/** The fields of the top level that hold messages, items, tools or blocks. */
const TOP_LEVEL_LISTS: ReadonlySet<string> = new Set(['messages', 'input', 'tools', 'system'])

/** The fields of a message, item or block that hold parts or blocks of its own. */
const NESTED_LISTS: ReadonlySet<string> = new Set(['content', 'output', 'outputs', 'tool_calls'])

/** A request body whose keys a case-insensitive reader could take for another's is refused, before any hold. */
export function refuseCaseVariantKeys(body: unknown): void {
  const found = caseVariantIn(body, TOP_LEVEL_LISTS)
  if (!found) return
  const key = found.key.slice(0, 100)
  throw badRequest(
    `Invalid body: ${[...found.path, key].join('.')}: keys here must be in lowercase, as the API's fields are: a server that reads keys ` +
      `ignoring case (Go's encoding/json, as Ollama's) would read ${JSON.stringify(key)} as ${JSON.stringify(folded(key))}, which the gateway reads only as written.`,
    'case_variant_key',
  )
}

interface Found {
  path: Array<string | number>
  key: string
}

/** The first key out of case in this object or in the objects its `lists` hold, with where it is (built only then). */
function caseVariantIn(object: unknown, lists: ReadonlySet<string>): Found | null {
  if (!isObject(object)) return null
  for (const key in object) {
    if (!isFolded(key)) return { key, path: [] }
    if (!lists.has(key)) continue
    const value = object[key]
    if (!Array.isArray(value)) {
      const found = caseVariantIn(value, NESTED_LISTS)
      if (found) return under(found, key)
      continue
    }
    for (let i = 0; i < value.length; i++) {
      const found = caseVariantIn(value[i], NESTED_LISTS)
      if (found) return under(found, key, i)
    }
  }
  return null
}

const under = (found: Found, ...path: Array<string | number>): Found => ({ key: found.key, path: [...path, ...found.path] })

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Whether a key is its own folded form: the one key of its fold that may be sent. ASCII without capitals is. */
function isFolded(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if (c >= 0x80) return key === folded(key)
    if (c >= 0x41 && c <= 0x5a) return false
  }
  return true
}

/**
 * A key folded as Go folds it, each character to one of its fold set (the same one for every member), in
 * lowercase form: the simple case mappings, which JavaScript's full ones match but where they give more than one
 * character (`ß`: `SS`; `İ`: `i̇`, whose simple lowercase is `i`).
 */
function folded(key: string): string {
  let out = ''
  for (const c of key) {
    const lower = simpleLower(c)
    const upper = lower.toUpperCase()
    out += simpleLower(upper.length === lower.length ? upper : lower)
  }
  return out
}

const simpleLower = (c: string): string => {
  if (c === '\u0130') return 'i'
  const lower = c.toLowerCase()
  return lower.length === c.length ? lower : c
}
