import { z } from 'zod'

/**
 * A query parameter the provider reads and the gateway passes on as sent: typed in the OpenAPI document, never
 * checked here, so that what reaches the provider (and its own refusal of a bad value) is unchanged.
 */
const passedOn = (schema: Record<string, unknown>) => z.unknown().optional().meta(schema)

const include = passedOn({ type: 'array', items: { type: 'string' }, description: 'Extra output to include, as OpenAI names it (`reasoning.encrypted_content`…)' })

/** GET /v1/responses/{id}: OpenAI's query, passed on whole (any other parameter too). */
export const storedResponseQuery = z
  .object({
    include,
    stream: passedOn({ type: 'boolean', description: 'Stream the stored response back as server-sent events' }),
    starting_after: passedOn({ type: 'integer', description: 'With `stream`, the sequence number of the event to start after' }),
  })
  .loose()

/** GET /v1/responses/{id}/input_items: OpenAI's list query, passed on whole (any other parameter too). */
export const inputItemsQuery = z
  .object({
    include,
    limit: passedOn({ type: 'integer', minimum: 1, maximum: 100, description: 'Items per page (OpenAI: default 20)' }),
    after: passedOn({ type: 'string', description: 'An item id: list the items after it' }),
    order: passedOn({ type: 'string', enum: ['asc', 'desc'], description: 'Order of the items (OpenAI: default desc)' }),
  })
  .loose()
