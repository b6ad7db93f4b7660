import { Elysia } from 'elysia'
import { z } from 'zod'
import type { Config } from '../config/schema'
import { estimateResponses, outputBound } from '../budget/estimate'
import { badRequest } from '../http/errors'
import { admitRequest } from '../metering/admission'
import { meterResponsesStream } from '../metering/responses-stream'
import type { ResolvedModel } from '../providers/registry'
import { relay, type Exchange } from '../translate/relay'
import { responsesUsage } from '../translate/usage'
import type { Services } from '../services'

const ENDPOINT = '/v1/responses'

/** The fields the gateway reads; every other Responses field passes through untouched. */
export const responsesBody = z.looseObject({
  model: z.string().min(1).max(256),
  input: z.union([z.string(), z.array(z.looseObject({}))]).optional(),
  instructions: z.string().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  max_output_tokens: z.number().int().positive().nullable().optional(),
  previous_response_id: z.string().min(1).max(256).nullable().optional(),
  conversation: z.union([z.string().min(1).max(256), z.looseObject({ id: z.string().min(1).max(256) })]).nullable().optional(),
  store: z.boolean().nullable().optional(),
  background: z.boolean().nullable().optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
  user: z.string().max(256).optional(),
})
export type ResponsesBody = z.infer<typeof responsesBody>

/**
 * An OpenAI-type provider gets the body as it came, with the provider's model id (and with cap-output on,
 * the bound the estimate used as `max_output_tokens`).
 */
function responsesNative(body: ResponsesBody, config: Config): (model: ResolvedModel) => Exchange {
  return (model) => {
    const upstreamBody: Record<string, unknown> = { ...body, model: model.upstreamModel }
    if (config.cap_output_tokens) upstreamBody.max_output_tokens = outputBound(body.max_output_tokens, 1, config.default_max_output_tokens)
    return {
      path: '/responses',
      body: upstreamBody,
      usageOf: (response) => responsesUsage(response.usage),
      reply: (_response, text) => text,
      stream: (upstream, meter) => meterResponsesStream(upstream, meter),
    }
  }
}

export const responsesRoutes = (services: Services) => {
  const { config } = services

  return new Elysia({ name: 'responses' }).post(
    ENDPOINT,
    async ({ body, request, server }) => {
      // A background response outlives the request, and so would its cost: a hold cannot follow it.
      if (body.background === true)
        throw badRequest('Invalid body: background: background responses are not served: their cost could not be held and settled with the request.', 'background_unsupported')
      const exchangeFor = responsesNative(body, config)
      const stream = body.stream === true
      const admission = await admitRequest(services, request, server, {
        model: body.model,
        namedUser: body.user,
        endpoint: ENDPOINT,
        stream,
        estimate: () => estimateResponses(body, { defaultMaxOutputTokens: config.default_max_output_tokens, mediaPartTokens: config.media_part_tokens }),
      })
      using hold = admission.hold
      return await relay({ request, admission, hold, stream, timeouts: config }, exchangeFor(admission.model))
    },
    {
      body: responsesBody,
      parse: 'json',
      detail: {
        tags: ['inference'],
        summary: 'Responses (OpenAI Responses API; JSON or SSE stream)',
        description:
          'Every Responses field is passed through to an OpenAI-type provider. Metered from the usage of the response ' +
          '(`response.completed`, `response.incomplete` or `response.failed` on a stream). `background: true` is refused.',
      },
    },
  )
}
