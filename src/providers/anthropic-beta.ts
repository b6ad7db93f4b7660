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
