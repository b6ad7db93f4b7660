import { Elysia } from 'elysia'
import { z } from 'zod'
import { perRequestEstimate } from '../budget/estimate'
import { admitRequest, resolveModel } from '../metering/admission'
import { refuseExtraBody, refuseRouterHeaders, refuseModelFallbacks } from '../pricing/features'
import { refuseAnthropicModel } from '../providers/call'
import { relay } from '../translate/relay'
import { badRequest } from '../http/errors'
import type { Services } from '../services'
import { refuseCaseVariantKeys } from '../http/case-variant-keys'
import { withFieldsLast } from '../translate/fields-last'
import { billingUser, contentPart, modelName } from './schemas/fields'
import { stoppingAtFirstIssue } from './schemas/first-issue'
import { ANTHROPIC_MODEL_REFUSED, billedCallResponses, EXTRA_BODY_REFUSED } from './billed-call-refusals'

const ENDPOINT = '/v1/moderations'

/** What OpenAI moderates with when a request names no model. */
const OPENAI_DEFAULT_MODERATION_MODEL = 'omni-moderation-latest'

/**
 * The fields the gateway reads; every other OpenAI field passes through untouched. OpenAI lets `model`
 * default; the gateway does too, where `default_providers.openai` says where a bare id goes.
 */
export const moderationsBody = z.looseObject({
  model: modelName.optional().describe(
    `Optional, as on OpenAI: unset, \`${OPENAI_DEFAULT_MODERATION_MODEL}\` at the \`default_providers.openai\` provider; refused (400) when none is configured.`,
  ),
  input: z.union([z.string(), z.array(z.string()).min(1), z.array(contentPart).min(1)], {
    error: 'must be a string, an array of strings, or an array of content parts',
  }),
  user: billingUser.optional(),
})

export const moderationsRoutes = (services: Services) => {
  const { config, providers } = services

  /** The model the request names, or OpenAI's default as the default provider serves it. */
  function moderationModel(named: string | undefined): string {
    if (named !== undefined) return named
    if (config.default_providers.openai !== undefined) return OPENAI_DEFAULT_MODERATION_MODEL
    const refusal = badRequest('Invalid body: model: name a model: no default provider is configured to serve OpenAI\'s default moderation model.')
    refusal.param = 'model'
    throw refusal
  }

  return new Elysia({ name: 'moderations' }).post(
    ENDPOINT,
    async ({ body, request, server }) => {
      const model = moderationModel(body.model)
      const target = resolveModel(services, model, ENDPOINT)
      refuseAnthropicModel(providers, model, ENDPOINT)
      // A router's fallbacks, `extra_body` and header fields (LiteLLM serves moderations with them) are refused before the hold, as on chat.
      if (target) refuseModelFallbacks(body, target.upstreamModel)
      refuseExtraBody(body)
      refuseRouterHeaders(body)
      const admission = await admitRequest(services, request, server, {
        model,
        target,
        namedUser: body.user,
        endpoint: ENDPOINT,
        stream: false,
        pricingExempt: true,
        estimate: perRequestEstimate,
      })
      using hold = admission.hold
      // `user` here only names who pays: OpenAI's moderation API has no such field.
      const { user: _billing, ...fields } = body
      return await relay({ request, admission, hold, stream: false, config }, {
        path: '/moderations',
        body: withFieldsLast(fields, { model: admission.model.upstreamModel }),
        // Priced per request: no tokens, so the cost is the model's per_request price (or nothing).
        usageOf: () => ({ promptTokens: 0, completionTokens: 0, cachedTokens: 0 }),
        reply: (_answer, text) => text,
      })
    },
    {
      body: stoppingAtFirstIssue(moderationsBody),
      parse: 'json',
      transform: ({ body }) => refuseCaseVariantKeys(body),
      detail: {
        tags: ['inference'],
        summary: 'Moderation (OpenAI format)',
        description: 'Costs the model\'s `per_request` price, or nothing when it has none; served even when pricing is required.',
        responses: billedCallResponses({ format: 'openai', perRequest: true, ok: 'The moderation results', refusals: [ANTHROPIC_MODEL_REFUSED, EXTRA_BODY_REFUSED] }),
      },
    },
  )
}
