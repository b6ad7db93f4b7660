import { outputBound } from '../../budget/estimate'
import type { Config } from '../../config/schema'
import { meterEvents } from '../../metering/metered-stream'
import { openAIMeter } from '../../metering/openai-stream'
import { openAIChatFeatures } from '../../pricing/features'
import type { ResolvedModel } from '../../providers/registry'
import { convertStream } from '../convert-stream'
import { openAIOutputCapField, withOpenAIOutputCap } from '../output-cap'
import type { ExchangeFor } from '../relay'
import { openAIUsage, statedTier } from '../usage'
import { ChunksToResponseEvents } from './chunks-to-response-events'
import { completionToResponse } from './completion-to-response'
import { responsesRequestToChat } from './request-to-chat'
import { requestEcho } from './response-object'
import { withFieldsLast } from '../fields-last'

/**
 * `/v1/responses` served through an OpenAI-compatible provider's chat completions (`responses: chat`).
 * Billed as chat is (a search model searches on every request; the tier the answer reports). Streams are
 * metered as chat chunks (usage always asked for, since the events carry it) and converted after the meter.
 */
export function responsesViaChat(
  body: Record<string, any>,
  target: ResolvedModel,
  config: Pick<Config, 'cap_output_tokens' | 'default_max_output_tokens'>,
) {
  const echo = requestEcho(body)
  const outputCap = config.cap_output_tokens ? outputBound(body.max_output_tokens, 1, config.default_max_output_tokens) : undefined
  const { request, dropped, names } = responsesRequestToChat(body, { outputCapField: openAIOutputCapField(target.provider), outputCap })
  const features = openAIChatFeatures(request, target.upstreamModel)
  const exchangeFor: ExchangeFor = (model, outputClamp) => {
    return {
      path: '/chat/completions',
      body: withFieldsLast(outputClamp === null ? request : withOpenAIOutputCap(request, model.provider, outputClamp), { model: model.upstreamModel }),
      features,
      usageOf: (completion) => openAIUsage(completion.usage, completion.service_tier),
      statedTierOf: statedTier,
      reply: (completion) => JSON.stringify(completionToResponse(completion, echo, names)),
      stream: (upstream, meter) => convertStream(meterEvents(upstream, openAIMeter({ ...meter, passUsage: true }), meter), new ChunksToResponseEvents(echo, names)),
      streamKeepsRequestEcho: true,
    }
  }
  return { request, dropped, features, exchangeFor }
}
