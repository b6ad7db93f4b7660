import type { ProviderConfig } from '../config/schema'
import { badRequest } from '../http/errors'

/**
 * Anthropic's beta flags, read as the most lenient server behind an `anthropic` provider reads them, and sent as they
 * were read: a `context-1m-…` flag opens the long-context window and its rates, so what the gateway prices must be
 * what any of them honours. A LiteLLM-style proxy splits the header on commas and strips each flag as Python's
 * `str.strip()` does (NEL and the information separators too, which are no `\s` in JavaScript); a router may compare
 * flags in any case.
 */

/** Every character either `str.strip()` or JavaScript's `trim()` strips from a flag's ends. */
const FLAG_EDGE_SPACES = /^[\s\x1c-\x1f\x85]+|[\s\x1c-\x1f\x85]+$/g

/** The flags in an `anthropic-beta` value: split on commas, each trimmed of every space, in lower case, none empty. */
export const betaFlagList = (value: string): string[] =>
  value
    .split(',')
    .map((flag) => flag.replace(FLAG_EDGE_SPACES, '').toLowerCase())
    .filter((flag) => flag !== '')

/** An `anthropic-beta` value as it goes upstream: its flags as read (`betaFlagList`), joined by commas. */
export const normalisedBetaFlags = (value: string): string => betaFlagList(value).join(',')

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
 * too. Otherwise each is a list of flags, read and sent as the header's are (`betaFlagList`); anything else is a 400,
 * since what a lenient server makes of it cannot be priced.
 */
export function bodyBetaFlags<T extends Record<string, unknown>>(body: T, provider: ProviderConfig): { body: T; flags: string[] } {
  const present = BODY_BETA_FIELDS.filter((field) => body[field] !== undefined)
  if (present.length === 0) return { body, flags: [] }
  const replaced = configuresAnthropicBeta(provider)
  const sent: Record<string, unknown> = { ...body }
  const flags: string[] = []
  for (const field of present) {
    if (replaced) {
      delete sent[field]
      continue
    }
    const value = body[field]
    if (!Array.isArray(value) || !value.every((flag) => typeof flag === 'string'))
      throw badRequest(`Invalid body: ${field}: must be a list of beta flag names (strings), as the anthropic-beta header's are.`)
    const read = value.flatMap(betaFlagList)
    sent[field] = read
    flags.push(...read)
  }
  return { body: sent as T, flags }
}
