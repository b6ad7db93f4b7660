import { badRequest } from './errors'

/**
 * Go's encoding/json, which Go servers decode request bodies with (Ollama's OpenAI-compatible routes through gin's
 * ShouldBindJSON), matches an object's keys to a struct's fields ignoring case, under Unicode folding (`ſ` is `s`,
 * the Kelvin sign `K` is `k`, `ı` is `i`), and of several keys that match one field the last wins, an exact match
 * included (golang/go#43664). The gateway reads keys as written, and sends on the ones it does not know: next to
 * the `model` it checked and priced, a `Model` would be the model the server runs. So wherever the gateway reads the
 * API's fields — the top level and its settings objects (`thinking`, `reasoning`…), and each message, input item,
 * tool, system block, content part or block, tool call and tool output, and the objects it reads in those (an image
 * part's `image_url`, a file part's `file`…) — every key must be written as those fields are, in lowercase: no two
 * keys there can then match one field, nor a key stand in for one the gateway reads. Deeper objects are not checked:
 * tool schemas, tool inputs and metadata have keys of the client's own choosing, which count toward the estimate by
 * their bytes.
 */

/**
 * Where a check is: the fields whose objects are checked too, each at its own level. A list's items are checked as
 * the object would be, whichever the field holds.
 */
type Level = ReadonlyMap<string, Level>

/** An object read field by field, holding nothing else checked. */
const FIELDS_ONLY: Level = new Map()

const checkedAt = (level: Level, fields: string[]) => fields.map((field) => [field, level] as const)

/**
 * In a message, item, tool or block: the fields that hold parts, blocks or tools of their own (an `additional_tools`
 * item's `tools`), and the objects whose fields the estimate, the billing rules or a translation read (an image's
 * `detail`, a file's `file_id`, a block's `cache_control.ttl`, a container's `memory_limit`…).
 */
const NESTED = new Map<string, Level>(
  checkedAt(FIELDS_ONLY, ['image_url', 'file', 'source', 'input_audio', 'cache_control', 'function', 'container', 'environment', 'filters', 'user_location']),
)
// Parts hold parts (a tool result's content), so the level names itself.
for (const [field, level] of checkedAt(NESTED, ['content', 'output', 'outputs', 'tool_calls', 'tools'])) NESTED.set(field, level)

/**
 * In a top-level settings object: the objects the billing rules, a translation or the gateway's own additions read
 * (`provider.max_price`, which the gateway bounds at the row's rates; Messages' `context_management.edits`; a
 * structured output's `format` or `json_schema`, whose `schema` is the client's own).
 */
const SETTINGS: Level = new Map(checkedAt(FIELDS_ONLY, ['max_price', 'edits', 'format', 'json_schema', 'user_location']))

/**
 * A `tool_choice`: its `type`, and the tools it names by type, which the billing rules price as tools offered
 * (chat's `allowed_tools.tools`, Responses' `tools`), each checked as a tool is.
 */
const TOOL_CHOICE: Level = new Map([
  ...checkedAt(new Map(checkedAt(NESTED, ['tools'])), ['allowed_tools']),
  ...checkedAt(NESTED, ['tools']),
  ...checkedAt(FIELDS_ONLY, ['function']),
])

/** An OpenRouter plugin: the billing rules read its `id`, `engine` and `max_results`, and a file parser's `pdf.engine`. */
const PLUGIN: Level = new Map(checkedAt(FIELDS_ONLY, ['pdf']))

/**
 * The top level: the fields that hold messages, items, tools or blocks, the tool choice, OpenRouter's plugins, and
 * the settings objects whose fields the estimate and the billing rules read (a thinking budget, a reasoning effort,
 * whether a stream reports its usage, DashScope's search strategy, xAI's Live Search mode and sources, a Messages
 * thread's type…).
 */
const TOP_LEVEL: Level = new Map([
  ...checkedAt(NESTED, ['messages', 'input', 'tools', 'system']),
  ...checkedAt(TOOL_CHOICE, ['tool_choice']),
  ...checkedAt(PLUGIN, ['plugins']),
  ...checkedAt(SETTINGS, ['thinking', 'reasoning', 'text', 'stream_options', 'output_config', 'response_format', 'web_search_options', 'search_options', 'search_parameters', 'prediction', 'audio', 'provider', 'context_management', 'thread']),
])

/** A request body whose keys a case-insensitive reader could take for another's is refused, before any hold. */
export function refuseCaseVariantKeys(body: unknown): void {
  const found = caseVariantIn(body, TOP_LEVEL)
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

/** The first key out of case in this object or in the objects its level checks, with where it is (built only then). */
function caseVariantIn(object: unknown, level: Level): Found | null {
  if (!isPlainObject(object)) return null
  for (const key in object) {
    if (!isFolded(key)) return { key, path: [] }
    const inner = level.get(key)
    if (inner === undefined) continue
    const value = object[key]
    if (!Array.isArray(value)) {
      const found = caseVariantIn(value, inner)
      if (found) return under(found, key)
      continue
    }
    for (let i = 0; i < value.length; i++) {
      const found = caseVariantIn(value[i], inner)
      if (found) return under(found, key, i)
    }
  }
  return null
}

const under = (found: Found, ...path: Array<string | number>): Found => ({ key: found.key, path: [...path, ...found.path] })

/** An object as JSON parses one: a form's `File` (whose prototype has `lastModified`) is a value, not fields. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

/** Whether a key is its own folded form: the one key of its fold that may be sent. ASCII without capitals is. */
function isFolded(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if (c < 0x80) {
      if (c >= 0x41 && c <= 0x5a) return false
      continue
    }
    const codePoint = key.codePointAt(i)!
    if (!foldsToItself(codePoint)) return false
    if (codePoint > 0xffff) i++
  }
  return true
}

/**
 * Each character folds to one of the same length, so a key is its fold when each of its characters is. What each
 * character folds to is worked out once: a key may be as long as the body, of one character repeated.
 */
const foldState = new Uint8Array(0x110000)
const FOLDS_TO_ITSELF = 1
const FOLDS_TO_ANOTHER = 2

function foldsToItself(codePoint: number): boolean {
  if (foldState[codePoint] === 0) {
    const c = String.fromCodePoint(codePoint)
    foldState[codePoint] = foldedChar(c) === c ? FOLDS_TO_ITSELF : FOLDS_TO_ANOTHER
  }
  return foldState[codePoint] === FOLDS_TO_ITSELF
}

/** A key folded as Go folds it (for the refusal's message). */
function folded(key: string): string {
  let out = ''
  for (const c of key) out += foldedChar(c)
  return out
}

/**
 * A character folded as Go folds it, to one of its fold set (the same one for every member), in lowercase form:
 * the simple case mappings, which JavaScript's full ones match but where they give more than one character
 * (`ß`: `SS`; `İ`: `i̇`, whose simple lowercase is `i`).
 */
function foldedChar(c: string): string {
  const lower = simpleLower(c)
  const upper = lower.toUpperCase()
  return simpleLower(upper.length === lower.length ? upper : lower)
}

const simpleLower = (c: string): string => {
  if (c === '\u0130') return 'i'
  const lower = c.toLowerCase()
  return lower.length === c.length ? lower : c
}
