/**
 * Anthropic code execution containers by id. A container keeps the files its code read and wrote until it expires,
 * in the provider account every user of the gateway shares, so its id is stored state like a response's: recorded
 * for the user billed for the answer that ran in it, and usable by that user only.
 */

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
