import { Elysia } from 'elysia'
import { z } from 'zod'
import type { Config } from '../config/schema'
import { estimateChat, estimateMessages, largerEstimate } from '../budget/estimate'
import { estimateOptionsFor } from '../budget/estimate-options'
import { admitRequest, resolveModel, type Admission } from '../metering/admission'
import { meterOpenAIStream } from '../metering/openai-stream'
import { contextWindowOf, openAIChatFeatures } from '../pricing/features'
import { chatViaAnthropic } from '../translate/chat-via-anthropic'
import { clientMaxOutput, largestMaxOutputIn, withOpenAIOutputCap } from '../translate/output-cap'
import { relay, type Exchange, type ExchangeFor } from '../translate/relay'
import { openAIUsage, statedTier } from '../translate/usage'
import type { Services } from '../services'
import { refuseCaseVariantKeys } from '../http/case-variant-keys'
import { admittedUser, authenticated, requestState } from '../http/request-state'
import type { ResolvedModel } from '../providers/registry'
import { ownerFor, refuseAnotherUsersAudio, ResponseOwners } from '../records/response-owners'
import { audioAnswersIn, audioAnswersNamed, mayAnswerWithAudio } from '../translate/chat-audio'
import { withFieldsLast } from '../translate/fields-last'
import { billingUser, jsonObject, modelName, oneOrMoreStrings, openAIMessage, openAITool, openAIToolChoice, responseFormat } from './schemas/fields'
import { stoppingAtFirstIssue } from './schemas/first-issue'
import { billedCallResponses, EXTRA_BODY_REFUSED, PRESET_REFUSED, SERVER_FIELDS_REFUSED, STORED_PROMPT_REFUSED } from './billed-call-refusals'

/** The fields the gateway reads or translates, typed; every other OpenAI field passes through untouched. */
export const chatBody = z.looseObject({
  model: modelName,
  messages: z.array(openAIMessage).min(1),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  n: z.number().int().positive().max(128).nullable().optional(),
  user: billingUser.optional(),
  tools: z.array(openAITool).optional(),
  tool_choice: openAIToolChoice.optional(),
  parallel_tool_calls: z.boolean().optional(),
  functions: z.array(z.looseObject({ name: z.string(), parameters: jsonObject.optional() })).optional(),
  response_format: responseFormat.nullable().optional(),
  stop: oneOrMoreStrings.nullable().optional(),
  temperature: z.number().nullable().optional(),
  top_p: z.number().nullable().optional(),
})
type ChatBody = z.infer<typeof chatBody>

/**
 * An OpenAI-compatible provider gets the body as it came, with the provider's model id, usage always
 * asked for on streams (the meter drops that chunk unless the client asked too), and with cap-output on,
 * the client's max (`clientMaxOutput`: the smaller of its two where the server may read either; the hold
 * covers the larger), else the default, in the field the provider reads. An answer's audio ids go to `audioRecorderFor`'s
 * recorder (JSON, or the stream's chunk naming one), and the client gets them once that resolves.
 */
function chatNative(body: ChatBody, config: Config, audioRecorderFor: (model: ResolvedModel) => (id: string) => Promise<void>): ExchangeFor {
  const clientWantsUsage = body.stream_options?.include_usage === true
  return (model, outputClamp) => {
    const streamOptions = body.stream === true ? { stream_options: withFieldsLast(body.stream_options, { include_usage: true }) } : {}
    let upstreamBody = withFieldsLast(body, { model: model.upstreamModel, ...streamOptions })
    if (outputClamp !== null) upstreamBody = withOpenAIOutputCap(upstreamBody, model.provider, outputClamp)
    else if (config.cap_output_tokens)
      upstreamBody = withOpenAIOutputCap(upstreamBody, model.provider, clientMaxOutput('/chat/completions', body, model.provider) ?? config.default_max_output_tokens)
    return {
      path: '/chat/completions',
      body: upstreamBody,
      features: openAIChatFeatures(upstreamBody, model.upstreamModel),
      usageOf: (completion) => openAIUsage(completion.usage, completion.service_tier),
      statedTierOf: statedTier,
      reply: (completion, text) => {
        const ids = audioAnswersIn(completion)
        return ids.length === 0 ? text : Promise.all(ids.map(audioRecorderFor(model))).then(() => text)
      },
      // The recorder the meter keeps is made apart: a closure made here would keep this scope, the parsed body, for as long as the stream runs.
      stream: (upstream, meter) => meterOpenAIStream(upstream, { ...meter, passUsage: clientWantsUsage, recordAudio: audioRecorderFor(model) }),
    }
  }
}

/**
 * The clamp works from the hold's output bound, the larger of a body's two max fields (servers differ in
 * the one they read). No field above it: no clamp, the body goes as it came. Else it is sent in the one
 * field the provider reads, the other removed, and never above the max the client allowed it
 * (`clientMaxOutput`): the clamp lowers what the provider would have made, it never raises it.
 */
function clampLowersMax(admission: Admission, planned: Exchange): Admission {
  if (admission.outputClamp === null) return admission
  const largest = largestMaxOutputIn(planned.body, ['max_tokens', 'max_completion_tokens'])
  if (largest !== null && largest <= admission.outputClamp) return { ...admission, outputClamp: null }
  const allowed = clientMaxOutput(planned.path, planned.body, admission.model.provider)
  return allowed !== null && allowed < admission.outputClamp ? { ...admission, outputClamp: allowed } : admission
}

export const chatRoutes = (services: Services) => {
  const { config } = services
  const owners = new ResponseOwners(services.store)

  /**
   * Records an answer's audio for the user billed for it. Resolves once written where every replica finds it, as a
   * stored response's ids are: the client's next request naming it may reach another one. Made of plain values, not
   * the request: a stream's meter keeps it for as long as the stream runs (110 streamed 700 KB bodies peaked at
   * 225-249 MB against 187 while it kept the request and its parsed body).
   */
  const audioRecording = (userId: string, model: ResolvedModel) => (id: string): Promise<void> => {
    owners.recordAudio(id, { userId, provider: model.providerName, model: model.canonical })
    return owners.written()
  }

  return new Elysia({ name: 'chat' }).post(
    '/v1/chat/completions',
    async ({ body, request, server }) => {
      // Translated before the hold: a body the provider's format cannot carry is a 400 that costs nothing.
      const target = resolveModel(services, body.model, '/v1/chat/completions')
      const viaAnthropic = target?.provider.type === 'anthropic'
      const exchangeFor = viaAnthropic
        ? chatViaAnthropic(body, { defaultMaxOutputTokens: config.default_max_output_tokens, upstreamModel: target.upstreamModel })
        : chatNative(body, config, (model) => audioRecording(admittedUser(requestState(request)), model))
      // Its billed features are priced with the model (admission), so it is planned before the hold.
      const planned = target && exchangeFor(target, null)
      // Whatever the provider: another user's audio answer is 404 here as one that does not exist.
      await refuseAnotherUsersAudio(owners, audioAnswersNamed(body.messages), ownerFor(authenticated(requestState(request)), body.user))
      // An answer with audio waits for its record: while this replica's stored ids are kept back by a lock, it would be
      // paid and withheld, and so would each of an SDK's retries.
      if (!viaAnthropic && mayAnswerWithAudio(body)) await owners.refuseWhileKeptBack()
      const stream = body.stream === true
      const admission = await admitRequest(services, request, server, {
        model: body.model,
        target,
        namedUser: body.user,
        endpoint: '/v1/chat/completions',
        stream,
        // Several choices share one output bound: not clamped, the split would be the provider's to make.
        clampable: !(typeof body.n === 'number' && body.n > 1),
        // Translated, the hold covers the request as Anthropic receives it too (its tool schemas, its wrappers).
        estimate: (price) => {
          // A file by reference is bounded as the provider that reads it bounds it (Anthropic's PDF pages, its window).
          const options = estimateOptionsFor(config, price, { anthropic: viaAnthropic, openedWindowTokens: contextWindowOf(planned?.features), upstreamModel: target?.upstreamModel, provider: target?.provider })
          const sent = estimateChat(body, options)
          return viaAnthropic && planned ? largerEstimate(sent, estimateMessages(planned.body, options)) : sent
        },
        features: planned?.features,
      })
      using hold = admission.hold
      // Admission refused an unknown model (404), so the exchange exists; a clamped output rebuilds it with the lower max.
      const clamped = clampLowersMax(admission, planned!)
      const exchange = clamped.outputClamp === null ? planned! : exchangeFor(clamped.model, clamped.outputClamp)
      return await relay({ request, admission: clamped, hold, stream, config }, exchange)
    },
    {
      body: stoppingAtFirstIssue(chatBody),
      parse: 'json',
      transform: ({ body }) => refuseCaseVariantKeys(body),
      detail: {
        tags: ['inference'],
        summary: 'Chat completion (OpenAI format; JSON or SSE stream)',
        description:
          'Every OpenAI field is passed through. The model is `provider:model`, `provider/model` or an alias. ' +
          'A model served by an Anthropic provider is translated both ways, streams included.',
        responses: billedCallResponses({
          format: 'openai',
          ok: 'The completion: JSON, or an SSE stream of chunks when `stream` is true',
          refusals: [
            [400, 'context_size_unknown', "a Gemini context cache named (`cached_content`, or `extra_body.google.cached_content`), or Azure On Your Data (`data_sources`): the cached contents or the documents retrieved are input the gateway cannot size"],
            STORED_PROMPT_REFUSED, EXTRA_BODY_REFUSED, SERVER_FIELDS_REFUSED, PRESET_REFUSED,
            [404, 'audio_not_found', 'a message names an audio answer by id (`audio.id`) that no answer to this user gave'],
          ],
        }),
      },
    },
  )
}
