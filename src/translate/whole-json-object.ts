/** Whether a tool call's argument text is a whole JSON object, which nothing that follows could continue. */
export function isWholeObject(args: string): boolean {
  let end = args.length - 1
  while (end >= 0 && (args[end] === ' ' || args[end] === '\n' || args[end] === '\r' || args[end] === '\t')) end--
  if (args[end] !== '}') return false // the common case mid-stream: no parse
  try {
    JSON.parse(args)
    return true
  } catch {
    return false
  }
}
