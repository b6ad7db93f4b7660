type Json = Record<string, any>

/** Client-run function tools, and the types of the tools the target cannot run (dropped, each named once). */
export function splitTools(tools: unknown): { functions: Json[]; dropped: string[] } {
  const functions: Json[] = []
  const dropped = new Set<string>()
  if (Array.isArray(tools)) for (const tool of tools) {
    if (tool?.type === 'function') functions.push(tool)
    else dropped.add(String(tool?.type))
  }
  return { functions, dropped: [...dropped] }
}

/** The response header naming the tools that were not sent to a translated target. */
export const DROPPED_TOOLS_HEADER = 'x-tollgate-dropped-tools'

/**
 * That header's value: each type percent-encoded, since a type is the caller's text (a line break or a `€` in
 * it would make the header throw, after the provider has answered). `web_search` and its like read as they are.
 */
export const droppedToolsHeader = (dropped: string[]): string => dropped.map((type) => encodeURIComponent(type.toWellFormed())).join(', ')
