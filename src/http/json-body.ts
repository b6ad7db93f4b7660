import { badRequest } from './errors'
import { stringEnd } from './json-string-end'

/** Deeper than any real request (tool schemas nest a few dozen levels): a deeper body is an attack. */
export const MAX_JSON_DEPTH = 128

/**
 * More values than any real request holds: text and base64 media are one string each, a coding agent's 76 KB
 * body with 24 tools a few thousand values, the largest embeddings input (300,000 tokens as arrays of token ids)
 * under a third of this. A body of many tiny values is an attack: 8 million `{}` fit in the default body limit,
 * and once parsed they take 30 times their size in memory.
 */
export const MAX_JSON_VALUES = 1_000_000

/**
 * More object members than any real request holds: a coding agent's body with 24 tools and a long history has a
 * few thousand. A member costs far more parsed than a value in an array: an object whose key no other object has
 * gets a shape of its own (499,000 `{"k<i>":0}`, 7 MB of text, grew the heap 300 MB).
 */
export const MAX_JSON_MEMBERS = 100_000

type JsonExcess = 'depth' | 'values' | 'members'

interface JsonBreadth {
  values: number
  members: number
}

/**
 * What a JSON text holds, counted without parsing it: values (each opening bracket and each comma counts one) and
 * object members (each colon), or why it would be too costly to parse: nested more than `maxDepth` levels, or
 * holding more than `maxValues` values or `maxMembers` members. Brackets, commas and colons inside strings do not
 * count: each string is skipped whole (`stringEnd`), and a body is nearly all string text.
 */
function breadthOf(text: string, maxDepth: number, maxValues: number, maxMembers: number): JsonBreadth | JsonExcess {
  let depth = 0
  let values = 0
  let members = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) i = stringEnd(text, i)
    else if (c === 44 /* , */) {
      if (++values > maxValues) return 'values'
    } else if (c === 58 /* : */) {
      if (++members > maxMembers) return 'members'
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > maxDepth) return 'depth'
      if (++values > maxValues) return 'values'
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--
  }
  return { values, members }
}

/**
 * Why a JSON text would be too costly to parse, found without parsing it (see breadthOf). Checked before JSON.parse,
 * so that neither the parse nor anything after it (validation, estimates, re-serialising for the provider) ever
 * builds or walks a pathologically deep or broad value.
 */
export function jsonOutOfBounds(text: string, maxDepth: number, maxValues: number, maxMembers = Infinity): JsonExcess | null {
  const breadth = breadthOf(text, maxDepth, maxValues, maxMembers)
  return typeof breadth === 'string' ? breadth : null
}

/** Whether a JSON text nests more than `max` levels deep (see jsonOutOfBounds). */
export const jsonDepthExceeds = (text: string, max: number) => jsonOutOfBounds(text, max, Infinity) === 'depth'

const excessMessage: Record<JsonExcess, string> = {
  depth: `is nested more than ${MAX_JSON_DEPTH} levels deep`,
  values: `holds more than ${MAX_JSON_VALUES} JSON values`,
  members: `holds more than ${MAX_JSON_MEMBERS} JSON object members`,
}

/** A request body as JSON, or our 400: malformed, nested too deeply, or holding too many values or members. */
export function parseJsonBody(text: string): unknown {
  const excess = jsonOutOfBounds(text, MAX_JSON_DEPTH, MAX_JSON_VALUES, MAX_JSON_MEMBERS)
  if (excess) throw badRequest(`Request body ${excessMessage[excess]}.`, 'invalid_json')
  try {
    return JSON.parse(text)
  } catch {
    throw badRequest('Malformed request body: it is not valid JSON.', 'invalid_json')
  }
}

/**
 * The JSON texts one body carries inside its strings (a history tool call's `arguments`, a carried thinking block),
 * parsed as the body is translated for another API. In the body each is one string, so the body's bounds see none
 * of what it holds; here they are held to the same bounds, all of one body's texts together, so that many texts
 * cannot each carry just under them.
 */
export class EmbeddedJson {
  private valuesLeft = MAX_JSON_VALUES
  private membersLeft = MAX_JSON_MEMBERS

  /** Throws our 400 `invalid_json`, naming `where`, when `text` is nested too deeply or passes what is left of the bounds. */
  checkBounds(text: string, where: string): void {
    const breadth = breadthOf(text, MAX_JSON_DEPTH, this.valuesLeft, this.membersLeft)
    if (typeof breadth === 'string') {
      const before = this.valuesLeft < MAX_JSON_VALUES || this.membersLeft < MAX_JSON_MEMBERS
      const together = breadth !== 'depth' && before ? ', with the JSON texts before it in the body' : ''
      throw badRequest(`Invalid body: ${where}: ${excessMessage[breadth]}${together}`, 'invalid_json')
    }
    this.valuesLeft -= breadth.values
    this.membersLeft -= breadth.members
  }
}
