import { FunctionNames } from './function-names'

type Json = Record<string, any>

/**
 * Client-run function tools, those of a `namespace` tool included under the name `names` gives each, and the
 * types of the tools the target cannot run (dropped, each named once: a namespace's custom tools as `custom`).
 */
export function splitTools(tools: unknown): { functions: Json[]; dropped: string[]; names: FunctionNames } {
  const list: Json[] = Array.isArray(tools) ? tools : []
  const functions: Json[] = []
  const dropped = new Set<string>()
  const names = new FunctionNames(list.filter((tool) => tool?.type === 'function').map((tool) => String(tool.name)))
  for (const tool of list) {
    if (tool?.type === 'function') functions.push(tool)
    else if (tool?.type === 'namespace' && typeof tool.name === 'string' && Array.isArray(tool.tools))
      for (const inner of tool.tools as Json[]) {
        if (inner?.type === 'function') functions.push({ ...inner, name: names.offer(tool.name, String(inner.name)) })
        else dropped.add(String(inner?.type))
      }
    else dropped.add(String(tool?.type))
  }
  return { functions, dropped: [...dropped], names }
}

/** The response header naming the tools that were not sent to a translated target. */
export const DROPPED_TOOLS_HEADER = 'x-tollgate-dropped-tools'

/**
 * That header's value: each type percent-encoded, since a type is the caller's text (a line break or a `€` in
 * it would make the header throw, after the provider has answered). `web_search` and its like read as they are.
 */
export const droppedToolsHeader = (dropped: string[]): string => dropped.map((type) => encodeURIComponent(type.toWellFormed())).join(', ')
