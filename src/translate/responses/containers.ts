import { responsesRequestTools } from '../../pricing/features'

/**
 * OpenAI containers by id: code interpreter's and a hosted shell's. A container keeps the files its code wrote and
 * read for as long as it lives, in the provider account every user of the gateway shares, so its id is stored
 * state like a response's: recorded for the user whose response ran in it, and usable by that user only.
 */

type Json = Record<string, any>

/** The container a hosted shell's environment names (`{type: 'container_reference', container_id}`), if any. */
const referencedContainer = (environment: unknown): string | undefined => {
  const reference = environment as { type?: unknown; container_id?: unknown } | null | undefined
  return reference?.type === 'container_reference' && typeof reference.container_id === 'string' ? reference.container_id : undefined
}

/** The container a call item ran in: a `code_interpreter_call`'s `container_id`, a hosted `shell_call`'s reference. */
const containerOfItem = (item: Json | null | undefined): string | undefined => {
  if (item?.type === 'code_interpreter_call') return typeof item.container_id === 'string' ? item.container_id : undefined
  return item?.type === 'shell_call' ? referencedContainer(item.environment) : undefined
}

/** The container a tool runs in by id: code interpreter's `container` as a string, a shell's `container_reference`. */
const containerOfTool = (tool: Json | null | undefined): string | undefined => {
  if (tool?.type === 'code_interpreter') return typeof tool.container === 'string' ? tool.container : undefined
  return tool?.type === 'shell' ? referencedContainer(tool.environment) : undefined
}

const distinct = (ids: Array<string | undefined>): string[] => [...new Set(ids.filter((id) => id !== undefined))]

/** The containers a response's output items ran in. */
export const containersRanIn = (output: unknown): string[] => (Array.isArray(output) ? distinct(output.map(containerOfItem)) : [])

/**
 * The containers a Responses request names by id: its tools' (in `tools` or an input item's), and its input's
 * call items', since code interpreter's `auto` container takes up a live container a call item in the context ran in.
 */
export const containersNamed = (body: { tools?: unknown; input?: unknown }): string[] =>
  distinct([...responsesRequestTools(body).map(({ tool }) => containerOfTool(tool)), ...containersRanIn(body.input)])
