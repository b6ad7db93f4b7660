import { createHash } from 'node:crypto'

type Json = Record<string, any>

/** A client's function as the Responses API names it: in a `namespace` tool, by both. */
export interface FunctionName {
  name: string
  namespace?: string
}

/** Anthropic's rule for a tool's name (chat servers take what it takes). */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/
const MAX_TOOL_NAME = 128

/**
 * How a target without namespaces (Anthropic, chat completions) names the client's functions. A Responses
 * `namespace` tool groups functions (Codex sends each MCP server's tools so: namespace `mcp__facts`, function
 * `lookup_fact`), and the model calls one by name and namespace (`function_call.namespace`). Such a target is
 * offered each as a function of its own, `<namespace>__<name>` (Codex's own flat name of an MCP tool), or, where
 * that breaks the tool-name rule or is taken (by a top-level function or another), the same cut short with a
 * hash of both names; its calls are told back by name and namespace. Top-level functions keep their names.
 */
export class FunctionNames {
  private readonly bySent = new Map<string, FunctionName>()
  private readonly sentByCall = new Map<string, string>()
  /** The name each namespaced function is offered under, by `<namespace>.<name>`, the first of a name. */
  private readonly sentByQualified = new Map<string, string>()
  private readonly taken: Set<string>

  constructor(topLevel: Iterable<string> = []) {
    this.taken = new Set(topLevel)
  }

  /** The name a namespaced function is offered under, unique among the functions offered. */
  offer(namespace: string, name: string): string {
    const key = callKey(namespace, name)
    const known = this.sentByCall.get(key)
    if (known !== undefined) return known
    let sent = flatName(namespace, name)
    for (let n = 0; this.taken.has(sent); n++) sent = hashedName(namespace, name, n)
    this.taken.add(sent)
    this.sentByCall.set(key, sent)
    this.bySent.set(sent, { name, namespace })
    const qualified = `${namespace}.${name}`
    if (!this.sentByQualified.has(qualified)) this.sentByQualified.set(qualified, sent)
    return sent
  }

  /**
   * The name a function forced or allowed by the client's `tool_choice` goes under. The Responses API's choice
   * names a namespaced function `<namespace>.<name>` (the OpenAI Agents SDK's `toolChoice: "crm.lookup_account"`),
   * one field for both; a top-level function of that very name keeps it, as does a name not offered.
   */
  chosenName(name: unknown): unknown {
    if (typeof name !== 'string' || this.taken.has(name)) return name
    return this.sentByQualified.get(name) ?? name
  }

  /** The name a call of the client's input goes back under (a namespace no longer offered gets the name it would have). */
  sentName(call: Json): string {
    const name = String(call.name ?? '')
    if (typeof call.namespace !== 'string' || call.namespace === '') return name
    return this.sentByCall.get(callKey(call.namespace, name)) ?? flatName(call.namespace, name)
  }

  /** A call of the target's, by the name the client gave its function. */
  called(sent: string): FunctionName {
    return this.bySent.get(sent) ?? { name: sent }
  }
}

/** One key per namespace and name: no separator joins them unambiguously, as either may hold any character. */
const callKey = (namespace: string, name: string) => JSON.stringify([namespace, name])

function flatName(namespace: string, name: string): string {
  const joined = `${namespace}__${name}`
  return TOOL_NAME.test(joined) ? joined : hashedName(namespace, name, 0)
}

function hashedName(namespace: string, name: string, attempt: number): string {
  const hash = createHash('sha256').update(callKey(namespace, name)).update(attempt === 0 ? '' : `\u0000${attempt}`).digest('hex').slice(0, 8)
  const readable = `${namespace}__${name}`.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, MAX_TOOL_NAME - hash.length - 1)
  return `${readable}_${hash}`
}
