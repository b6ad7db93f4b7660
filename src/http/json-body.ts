import { badRequest } from './errors'

/** Deeper than any real request (tool schemas nest a few dozen levels): a deeper body is an attack. */
export const MAX_JSON_DEPTH = 128

/**
 * The nesting depth of a JSON text, counted without parsing it (brackets inside strings do not count).
 * Checked before JSON.parse, so that nothing after it (validation, estimates, re-serialising for the
 * provider) ever walks a pathologically deep value.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--
  }
  return false
}

/** A request body as JSON, or our 400: malformed, or nested too deeply. */
export function parseJsonBody(text: string): unknown {
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) throw badRequest(`Request body is nested more than ${MAX_JSON_DEPTH} levels deep.`, 'invalid_json')
  try {
    return JSON.parse(text)
  } catch {
    throw badRequest('Malformed request body: it is not valid JSON.', 'invalid_json')
  }
}
