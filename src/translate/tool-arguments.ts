import { badRequest } from '../http/errors'
import type { EmbeddedJson } from '../http/json-body'

/** A chat tool call's `arguments` text, as the other APIs want it. */

/** Whether argument text names no arguments: none, or `null` (Ollama's no-parameter call: Go's json.Marshal of a nil map). */
const namesNone = (args: string): boolean => {
  const text = args.trim()
  return text === '' || text === 'null'
}

/**
 * Tool arguments as Anthropic's `input`, which is always an object (`{}` for a tool without parameters):
 * Claude Code checks it against the tool's object schema, and Claude refuses any other in the history.
 * Arguments that are not a JSON object are kept, as their text, under `arguments`.
 */
export function toolInputOf(args: unknown): Record<string, unknown> {
  if (typeof args !== 'string' || namesNone(args)) return {}
  let input: unknown
  try {
    input = JSON.parse(args)
  } catch {
    input = undefined
  }
  return objectOrText(input, args)
}

const objectOrText = (input: unknown, args: string): Record<string, unknown> =>
  input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : { arguments: args }

/**
 * A tool call in a client's history (chat `tool_calls[].function.arguments`, a Responses `function_call`'s
 * `arguments`) as Anthropic's `input`: text that is no JSON is the client's error (400 naming `where`); JSON is
 * read as `toolInputOf` reads an answer's, so an Ollama call arguing `null` goes to Claude as `{}`, which it takes,
 * not `null`, which it refuses ("tool_use.input: Input should be a valid dictionary"). The text is JSON inside
 * the body, parsed into the body sent on: it is held to the body's bounds, as the body is, together with the body's
 * other such texts (`embedded`).
 */
export function historyToolInput(args: unknown, where: string, embedded: EmbeddedJson): Record<string, unknown> {
  const text = typeof args === 'string' && args !== '' ? args : '{}'
  embedded.checkBounds(text, where)
  let input: unknown
  try {
    input = JSON.parse(text)
  } catch {
    throw badRequest(`Invalid body: ${where}: is not valid JSON`)
  }
  return input === null ? {} : objectOrText(input, text)
}

/**
 * Whether argument text opens a JSON object (past JSON whitespace): then it can be streamed as it comes. Undefined
 * while it is all whitespace: what follows decides, so a stream asks of each delta only until one does.
 */
export function opensObject(args: string): boolean | undefined {
  const first = /[^ \t\n\r]/.exec(args)
  return first === null ? undefined : first[0] === '{'
}

/** Tool arguments as a Responses `function_call`'s: none, or `null`, is `{}`, as OpenAI writes a call without parameters. */
export const responsesArgumentsOf = (args: string): string => (namesNone(args) ? '{}' : args)
