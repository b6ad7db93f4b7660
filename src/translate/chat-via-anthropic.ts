import { anthropicMeter } from '../metering/anthropic-stream'
import { meterEvents } from '../metering/metered-stream'
import { anthropicBetaFeatures, anthropicTier, NO_FEATURES, type RequestedFeatures, withModelSearch, writesCacheUnasked } from '../pricing/features'
import { anthropicBetaSent } from '../providers/upstream'
import { chatRequestToMessages, type ChatToMessagesOptions } from './chat-request-to-messages'
import { convertStream } from './convert-stream'
import { MessageEventsToChunks } from './message-events-to-chunks'
import { messageToCompletion } from './message-to-completion'
import { withAnthropicOutputCap } from './output-cap'
import type { ExchangeFor } from './relay'
import { anthropicMessageCounts } from './usage'
import { withFieldsLast } from './fields-last'

/**
 * What the translated request asks the provider to bill. It refuses web search and audio; it sends no
 * `inference_geo`, which chat has not: the workspace's default geography is served (a geography the usage reports is
 * billed at its multiplier); its `service_tier` goes only to a model other than Claude, which without one (or with
 * `auto`) is served at its project's default tier (`anthropicTier`, as on Messages); and it marks nothing for caching:
 * only a model other than Claude writes its cache (`writesCacheUnasked`; cache writes the provider reports are still
 * billed, at their rate). It passes on no client header, but the provider's configured anthropic-beta (a 1M window)
 * is sent. A search model searches on every request (`withModelSearch`).
 */
function chatViaAnthropicFeatures(request: Record<string, unknown>, upstreamModel: string, betaFlags: string): RequestedFeatures {
  const { tier, leftToProvider } = anthropicTier(request, upstreamModel)
  return withModelSearch({
    ...NO_FEATURES,
    tier,
    providerDefaults: { tier: leftToProvider, geo: true, cacheWrites: writesCacheUnasked(upstreamModel), audioInput: false },
    ...anthropicBetaFeatures(betaFlags),
  }, upstreamModel)
}

/**
 * `/v1/chat/completions` served by an Anthropic provider. The request is translated now, so that a body
 * Anthropic cannot take is refused before any hold; the exchange is built once the model is admitted.
 * Streams are metered in Anthropic's format (where the usage is) and converted after the meter.
 */
export function chatViaAnthropic(body: Record<string, any>, o: ChatToMessagesOptions): ExchangeFor {
  const request = chatRequestToMessages(body, o)
  const includeUsage = body.stream_options?.include_usage === true
  return (model, outputClamp) => ({
    path: '/v1/messages',
    body: withFieldsLast(outputClamp === null ? request : withAnthropicOutputCap(request, outputClamp), { model: model.upstreamModel }),
    features: chatViaAnthropicFeatures(request, model.upstreamModel, anthropicBetaSent(model.provider)),
    usageOf: anthropicMessageCounts,
    reply: (message) => JSON.stringify(messageToCompletion(message)),
    stream: (upstream, meter) => convertStream(meterEvents(upstream, anthropicMeter(meter), meter), new MessageEventsToChunks(includeUsage)),
  })
}
