import { Elysia } from 'elysia'
import { z } from 'zod'
import { perRequestEstimate } from '../budget/estimate'
import { admitRequest } from '../metering/admission'
import { answeredOutcome, budgetHeaders } from '../metering/outcome'
import { callUpstream, contentTypeOf, readAnswer, refuseAnthropicModel } from '../providers/call'
import type { Services } from '../services'

const ENDPOINT = '/v1/moderations'

/**
 * The fields the gateway reads; every other OpenAI field passes through untouched. OpenAI lets `model`
 * default; a gateway has to know where to send the request, so here it is required.
 */
export const moderationsBody = z.looseObject({
  model: z.string().min(1).max(256),
  input: z.union([z.string(), z.array(z.union([z.string(), z.looseObject({ type: z.string() })])).min(1)]),
  user: z.string().max(256).optional(),
})

export const moderationsRoutes = (services: Services) => {
  const { config, providers } = services

  return new Elysia({ name: 'moderations' }).post(
    ENDPOINT,
    async ({ body, request, server }) => {
      refuseAnthropicModel(providers, body.model, ENDPOINT)
      const admission = admitRequest(services, request, server, {
        model: body.model,
        namedUser: body.user,
        endpoint: ENDPOINT,
        stream: false,
        pricingExempt: true,
        estimate: perRequestEstimate,
      })
      using hold = admission.hold
      const { model, price } = admission

      // `user` here only names who pays: OpenAI's moderation API has no such field.
      const { user: _billing, ...fields } = body
      const answer = await callUpstream(model.provider, '/moderations', { ...fields, model: model.upstreamModel }, {
        hold, timeoutMs: config.upstream_timeout_ms, clientSignal: request.signal,
      })
      const text = await readAnswer(answer, hold, (text) => text)
      hold.settle(answeredOutcome(price, { promptTokens: 0, completionTokens: 0, cachedTokens: 0 }, hold, answer.elapsed()))
      return new Response(text, { headers: { 'content-type': contentTypeOf(answer.res, 'application/json'), ...budgetHeaders(hold) } })
    },
    {
      body: moderationsBody,
      parse: 'json',
      detail: {
        tags: ['inference'],
        summary: 'Moderation (OpenAI format)',
        description: 'Costs the model\'s `per_request` price, or nothing when it has none; served even when pricing is required.',
      },
    },
  )
}
