import type { ProviderConfig } from '../config/schema'
import { badRequest } from '../http/errors'

/**
 * Anthropic's beta flags, read as the most lenient server behind an `anthropic` provider reads them, and sent as they
 * were read: a `context-1m-…` flag opens the long-context window and its rates, so what the gateway prices must be
 * what any of them honours. A LiteLLM-style proxy splits the header on commas and strips each flag as Python's
 * `str.strip()` does (NEL and the information separators too, which are no `\s` in JavaScript); a router may compare
 * flags in any case.
 */

/** A character either `str.strip()` or JavaScript's `trim()` strips from a flag's ends. */
const FLAG_EDGE_SPACE = /^[\s\x1c-\x1f\x85]$/

/**
 * `flag` without the spaces at its ends, scanned in from each end: a regex for the end (`[…]+$`) is tried at every
 * position, so a run of spaces inside a flag cost it the square of the run's length.
 */
function trimmedFlag(flag: string): string {
  let start = 0
  let end = flag.length
  while (start < end && FLAG_EDGE_SPACE.test(flag[start]!)) start++
  while (end > start && FLAG_EDGE_SPACE.test(flag[end - 1]!)) end--
  return flag.slice(start, end)
}

/** The flags in an `anthropic-beta` value: split on commas, each trimmed of every space, in lower case, none empty. */
export const betaFlagList = (value: string): string[] =>
  value
    .split(',')
    .map((flag) => trimmedFlag(flag).toLowerCase())
    .filter((flag) => flag !== '')

/**
 * A client's flags, header and body together, number at most 64 in at most 4 KB: Anthropic's betas number a few
 * dozen and a request sends a handful (Claude Code some ten), and a value past that is refused before it is read.
 */
const MAX_CLIENT_FLAGS = 64
const MAX_CLIENT_FLAG_CHARS = 4096

/** A flag read alike by every server: visible ASCII, as every real flag is. */
const READ_ALIKE = /^[\x21-\x7e]+$/

/**
 * A client's flags in `values` (its header's value, the items of its body's lists), as `betaFlagList` reads them, or
 * a 400 naming `where`. Past the bounds (`MAX_CLIENT_FLAGS`) they are refused, and so is a flag with a character
 * outside visible ASCII once trimmed: Bun hands the gateway a header one byte a character (latin1), so a Unicode
 * space written in UTF-8 (U+3000 is E3 80 80) is no space here, while a server that decodes UTF-8 trims it and reads
 * the flag behind it, `context-1m-…` included.
 */
export const clientBetaFlags = (values: readonly string[], where: string): string[] => clientFlagsByValue(values, where).flat()

/** `clientBetaFlags`, value by value. */
function clientFlagsByValue(values: readonly string[], where: string): string[][] {
  let chars = 0
  for (const value of values) chars += value.length
  if (chars > MAX_CLIENT_FLAG_CHARS) throw pastFlagBounds(where)
  const read = values.map(betaFlagList)
  let count = 0
  for (const flags of read) count += flags.length
  if (count > MAX_CLIENT_FLAGS) throw pastFlagBounds(where)
  if (!read.every((flags) => flags.every((flag) => READ_ALIKE.test(flag))))
    throw badRequest(`Invalid ${where}: a beta flag holds a character outside visible ASCII, which servers read differently (a space written in UTF-8 is trimmed by some and not others), so what it opens cannot be priced.`)
  return read
}

const pastFlagBounds = (where: string) =>
  badRequest(`Invalid ${where}: beta flags are served up to ${MAX_CLIENT_FLAGS} in ${MAX_CLIENT_FLAG_CHARS} characters, the header's and the body's together.`)

/**
 * The body fields Anthropic-compatible servers take beta flags from besides the header: the Anthropic SDK's `betas`
 * (LiteLLM's `/v1/messages` sends them on as the header) and Bedrock's `anthropic_beta`.
 */
const BODY_BETA_FIELDS = ['betas', 'anthropic_beta'] as const

const configuresAnthropicBeta = (provider: ProviderConfig): boolean =>
  Object.keys(provider.headers).some((name) => name.toLowerCase() === 'anthropic-beta')

/**
 * A Messages body as it goes to `provider`, and the beta flags its `betas` and `anthropic_beta` send. Where the
 * provider's configured `anthropic-beta` replaces the client's, the operator chose the flags: these fields are dropped
 * too. Otherwise each is a list of flags, read and sent as the header's are (`clientBetaFlags`, bounded with the
 * `headerFlags` the client sent); anything else is a 400, since what a lenient server makes of it cannot be priced.
 * A field sent as null is not set (`nullAsUnset`): dropped, as no provider is sent a null.
 */
export function bodyBetaFlags<T extends Record<string, unknown>>(body: T, provider: ProviderConfig, headerFlags: string): { body: T; flags: string[] } {
  const named = BODY_BETA_FIELDS.filter((field) => body[field] !== undefined)
  if (named.length === 0) return { body, flags: [] }
  const sent: Record<string, unknown> = { ...body }
  const present = configuresAnthropicBeta(provider) ? [] : named.filter((field) => body[field] !== null)
  for (const field of named) if (!present.includes(field)) delete sent[field]
  if (present.length === 0) return { body: sent as T, flags: [] }
  const lists = present.map((field) => flagNames(body[field], field))
  // Bounded and checked with the header's in one read, each field then sent as its items were read.
  const [, ...read] = clientFlagsByValue([headerFlags, ...lists.flat()], `body: ${present.join(', ')}`)
  const flags: string[] = []
  let item = 0
  present.forEach((field, i) => {
    const fieldFlags = read.slice(item, (item += lists[i]!.length)).flat()
    sent[field] = fieldFlags
    for (const flag of fieldFlags) flags.push(flag)
  })
  return { body: sent as T, flags }
}

/** `value` as a list of flag names, or a 400 naming `field`. */
function flagNames(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((flag) => typeof flag === 'string'))
    throw badRequest(`Invalid body: ${field}: must be a list of beta flag names (strings), as the anthropic-beta header's are.`)
  return value
}
