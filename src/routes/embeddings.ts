import { Elysia } from 'elysia'
import { z } from 'zod'
import { estimateEmbeddings } from '../budget/estimate'
import { estimateOptionsFor } from '../budget/estimate-options'
import { admitRequest, resolveModel } from '../metering/admission'
import { refuseEmbeddingsChatRequest, refuseExtraBody, refuseRouterHeaders, refuseModelFallbacks } from '../pricing/features'
import { EMBEDDINGS_ANSWER_MAX_BYTES } from '../providers/answer-text'
import { refuseAnthropicModel } from '../providers/call'
import { relay } from '../translate/relay'
import { embeddingsCounts } from '../translate/usage'
import type { Services } from '../services'
import { refuseCaseVariantKeys } from '../http/case-variant-keys'
import { withFieldsLast } from '../translate/fields-last'
import { billingUser, modelName } from './schemas/fields'
import { stoppingAtFirstIssue } from './schemas/first-issue'
import { ANTHROPIC_MODEL_REFUSED, billedCallResponses, EMBEDDINGS_CHAT_FIELDS_REFUSED, EXTRA_BODY_REFUSED } from './billed-call-refusals'

const ENDPOINT = '/v1/embeddings'

// The check aborts, as a wrong type does, so that a list stops at its first bad id (src/routes/schemas/first-issue.ts).
const tokenArray = z.array(z.number().int().nonnegative({ abort: true })).min(1)

/** The fields the gateway reads or the format fixes; every other OpenAI field passes through untouched. */
export const embeddingsBody = z.looseObject({
  model: modelName,
  input: z.union([z.string(), z.array(z.string()).min(1), tokenArray, z.array(tokenArray).min(1)], {
    error: 'must be a string, an array of strings, an array of token ids, or an array of such arrays',
  }),
  encoding_format: z.string().optional(),
  dimensions: z.number().int().positive().optional(),
  user: billingUser.optional(),
})

export const embeddingsRoutes = (services: Services) => {
  const { config, providers } = services

  return new Elysia({ name: 'embeddings' }).post(
    ENDPOINT,
    async ({ body, request, server }) => {
      const target = resolveModel(services, body.model, ENDPOINT)
      refuseAnthropicModel(providers, body.model, ENDPOINT)
      // A router's fallbacks (LiteLLM's, OpenRouter's `models`), `extra_body` and header fields serve embeddings too: refused before the hold, as on chat.
      if (target) refuseModelFallbacks(body, target.upstreamModel)
      refuseExtraBody(body)
      refuseRouterHeaders(body)
      refuseEmbeddingsChatRequest(body)
      const admission = await admitRequest(services, request, server, {
        model: body.model,
        target,
        namedUser: body.user,
        endpoint: ENDPOINT,
        stream: false,
        estimate: (price) => estimateEmbeddings(body, estimateOptionsFor(config, price)),
      })
      using hold = admission.hold
      return await relay({ request, admission, hold, stream: false, config }, {
        path: '/embeddings',
        body: withFieldsLast(body, { model: admission.model.upstreamModel }),
        usageOf: embeddingsCounts,
        reply: (_answer, text) => text,
        answerMaxBytes: EMBEDDINGS_ANSWER_MAX_BYTES,
      })
    },
    {
      body: stoppingAtFirstIssue(embeddingsBody),
      parse: 'json',
      transform: ({ body }) => refuseCaseVariantKeys(body),
      detail: {
        tags: ['inference'],
        summary: 'Embeddings (OpenAI format)',
        description: 'Priced by input tokens; the hold is the UTF-8 size of each input (or its token count for token arrays) plus 8 tokens an input for the special tokens servers add, and the bytes of every other field but `model`, `encoding_format`, `dimensions` and `user`; with cap-output on, a string input that names media (a data URL, a gs:// or http(s) URL, files/…) is held as a media part.',
        responses: billedCallResponses({ format: 'openai', ok: 'The embeddings', refusals: [ANTHROPIC_MODEL_REFUSED, EXTRA_BODY_REFUSED, EMBEDDINGS_CHAT_FIELDS_REFUSED] }),
      },
    },
  )
}
