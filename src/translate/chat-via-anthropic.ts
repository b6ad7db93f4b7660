import { meterAnthropicStream } from '../metering/anthropic-stream'
import { anthropicBetaFeatures, isClaudeModel, NO_FEATURES, writesCacheUnasked } from '../pricing/features'
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
 * The translation sends no `inference_geo`: the workspace's default geography is served; no `service_tier`: a model
 * other than Claude is served at its project's default tier (an Anthropic-compatible router's `openai/gpt-5.6`); and
 * no `cache_control`: only a model other than Claude writes its cache (`writesCacheUnasked`).
 */
const chatViaAnthropicDefaults = (upstreamModel: string) => ({
  tier: !isClaudeModel(upstreamModel),
  geo: true,
  cacheWrites: writesCacheUnasked(upstreamModel),
  audioInput: false,
})

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
    // The translation carries no billed feature of its own: it refuses web search and audio, drops service_tier (and
    // sends no inference_geo, which chat has not: a geography the usage reports is billed at its multiplier),
    // and marks nothing for caching (cache writes the provider reports are still billed, at their rate).
    // It passes on no client header, but the provider's configured anthropic-beta (a 1M window) is sent.
    features: { ...NO_FEATURES, providerDefaults: chatViaAnthropicDefaults(model.upstreamModel), ...anthropicBetaFeatures(anthropicBetaSent(model.provider)) },
    usageOf: anthropicMessageCounts,
    reply: (message) => JSON.stringify(messageToCompletion(message)),
    stream: (upstream, meter) => convertStream(meterAnthropicStream(upstream, meter), new MessageEventsToChunks(includeUsage)),
  })
}
