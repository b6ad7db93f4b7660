/**
 * Where a JSON string ends, found in its text: a body's and a structured value's bytes are nearly all string text,
 * which a search skips faster than a walk a character at a time.
 */

const QUOTE = 0x22
const BACKSLASH = 0x5c

/** How often, in escaped quotes searched past, a string's end looks at how close together they are. */
const ESCAPED_QUOTES_LOOKED_AT = 32
/** Escaped quotes closer together than this, on average, are walked past rather than searched for. */
const DENSE_QUOTE_SPACING = 16

/**
 * The index of the quote that closes the JSON string opening at `open` (the text's end if none does). A search
 * finds it, past escaped quotes while they are far apart (prose that quotes words: an agent's tool descriptions,
 * half the time of a walk); where they are dense (arguments are JSON, and every quote of theirs is escaped in the
 * message around them), a search and a look back for each cost several times a walk, and the rest is walked.
 */
export function stringEnd(json: string, open: number): number {
  let close = json.indexOf('"', open + 1)
  for (let escaped = 1; close !== -1 && escapedQuote(json, close); escaped++) {
    if (escaped % ESCAPED_QUOTES_LOOKED_AT === 0 && close - open < escaped * DENSE_QUOTE_SPACING) return walkedStringEnd(json, close + 1)
    close = json.indexOf('"', close + 1)
  }
  return close === -1 ? json.length : close
}

/** stringEnd, from inside the string at `from`, a character at a time. */
function walkedStringEnd(json: string, from: number): number {
  for (let i = from; i < json.length; i++) {
    const c = json.charCodeAt(i)
    if (c === BACKSLASH) i++
    else if (c === QUOTE) return i
  }
  return json.length
}

/** Whether the quote at `at` is escaped: an odd run of backslashes before it. */
function escapedQuote(json: string, at: number): boolean {
  let backslashes = 0
  while (json.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++
  return backslashes % 2 === 1
}
