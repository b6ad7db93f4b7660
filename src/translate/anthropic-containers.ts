/**
 * Anthropic code execution containers by id. A container keeps the files its code read and wrote until it expires,
 * in the provider account every user of the gateway shares, so its id is stored state like a response's: recorded
 * for the user billed for the answer that ran in it, and usable by that user only.
 */
import { anthropicToolsOffered } from '../pricing/anthropic-inline-tools'
import { filtersResultsInCode } from '../pricing/features'

const idOf = (container: unknown): string | undefined => {
  const id = (container as { id?: unknown } | null | undefined)?.id
  return typeof id === 'string' ? id : undefined
}

/**
 * The container a Messages request names to run in again: its `container` as an id, or as `{id, skills}` (Agent
 * Skills). One of skills alone asks for a new container.
 */
export const containerNamed = (body: Record<string, unknown>): string | undefined =>
  typeof body.container === 'string' ? body.container : idOf(body.container)

/** The container an answer ran in: a message's `container` (`{id, expires_at}`), or a stream's `message_delta.delta`'s. */
export const containerRanIn = (message: unknown): string | undefined =>
  idOf((message as { container?: unknown } | null | undefined)?.container)

/** Anthropic's code execution tool, by its versioned type (`code_execution_20250825`). */
const CODE_EXECUTION = /^code_execution_\d{8}$/

/**
 * Whether an answer to a Messages request may run in a container, which the gateway then records before the client
 * gets it: the request names one (an id, or skills for a new one), or offers a tool that runs code (code execution,
 * or web search or fetch filtering its results in code), in `tools` or defined in the conversation.
 */
export function mayRunInContainer(body: Record<string, unknown>): boolean {
  if (body.container != null) return true
  return anthropicToolsOffered(body).some((tool) => {
    const type = (tool as { type?: unknown } | null)?.type
    return typeof type === 'string' && (CODE_EXECUTION.test(type) || filtersResultsInCode(type))
  })
}
