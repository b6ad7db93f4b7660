import type { Server } from 'bun'
import { Elysia } from 'elysia'
import { z } from 'zod'
import { perRequestEstimate } from '../budget/estimate'
import { badRequest } from '../http/errors'
import { formAsSent, isMultipart } from '../http/form-body'
import { admitRequest, resolveModel, type Admission } from '../metering/admission'
import { answeredOutcome, budgetHeaders, paidEvenIfLeft } from '../metering/outcome'
import { formFallbackFields, refuseExtraBody, refuseRouterHeaders, refuseModelFallbacks } from '../pricing/features'
import { callUpstream, contentTypeOf, echoCheckedText, errorCheckedAnswer, errorCheckedText, readAnswer, refuseAnthropicModel, relayBody, type UpstreamAnswer } from '../providers/call'
import { mediaTypeOf } from '../providers/upstream'
import type { ProviderConfig } from '../config/schema'
import type { Services } from '../services'
import { isEventStream } from '../translate/sse'
import { refuseCaseVariantKeys } from '../http/case-variant-keys'
import { withFieldsLast } from '../translate/fields-last'
import { billingUser, modelName } from './schemas/fields'
import { ANTHROPIC_MODEL_REFUSED, billedCallResponses, EXTRA_BODY_REFUSED } from './billed-call-refusals'

const SPEECH = '/v1/audio/speech'
const TRANSCRIPTIONS = '/v1/audio/transcriptions'

/** The fields the gateway reads or the format fixes; every other OpenAI field passes through untouched. */
const speechBody = z.looseObject({
  model: modelName,
  input: z.string(),
  // A built-in voice by name, or a custom one by id.
  voice: z.union([z.string(), z.looseObject({ id: z.string() })], { error: 'must be a voice name or an object with an id' }).optional(),
  instructions: z.string().optional(),
  response_format: z.string().optional(),
  speed: z.number().optional(),
  stream_format: z.string().optional(),
  user: billingUser.optional(),
})

const transcriptionBody = z.looseObject({
  model: modelName,
  file: z.file(),
  user: billingUser.optional(),
})

/** A form field set to true: a form sends it as text (`stream=true`, as the OpenAI SDKs send it). */
const formSaysTrue = (value: unknown): boolean => typeof value === 'string' && value.trim().toLowerCase() === 'true'

/** The `response_format`s whose answer is the transcript itself, not a JSON object around it. */
const PLAIN_TRANSCRIPT_FORMATS = new Set(['text', 'srt', 'vtt'])

/** A form field may come more than once; asking for a plain transcript in any of them counts. */
const asksForPlainTranscript = (format: unknown): boolean =>
  (Array.isArray(format) ? format : [format]).some((f) => typeof f === 'string' && PLAIN_TRANSCRIPT_FORMATS.has(f.trim().toLowerCase()))

const isJsonType = (type: string | null) => type === 'application/json' || (type?.endsWith('+json') ?? false)

/**
 * How a whole transcription is read. A plain transcript (asked for as text, srt or vtt, or labelled with a type
 * that is not JSON) is what the audio says, steered by the client's `prompt`: it may read as `{"error": …}` and is
 * still the provider's answer, paid (SPEC §6), so only a credential echo is looked for. JSON is checked for an
 * answer that is only an error, as on every other route.
 */
function transcriptReader(answer: UpstreamAnswer, responseFormat: unknown, provider: ProviderConfig) {
  const type = mediaTypeOf(answer.res.headers.get('content-type'))
  const plain = asksForPlainTranscript(responseFormat) || (type !== null && !isJsonType(type))
  return plain ? echoCheckedText(provider) : errorCheckedText(answer, provider)
}

/** The client's form for the provider: its model id in place of ours, every other field and file as sent. */
function upstreamForm(fields: Record<string, unknown>, upstreamModel: string): FormData {
  const form = new FormData()
  form.append('model', upstreamModel)
  for (const [name, value] of Object.entries(fields)) {
    // `user` only names who pays: OpenAI's audio API has no such field.
    if (name === 'model' || name === 'user') continue
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v instanceof File) form.append(name, v, v.name)
      else form.append(name, String(v))
    }
  }
  return form
}

/**
 * Audio is priced per request: no tokens, the model's `per_request` price or nothing, owed once the
 * provider has answered, whether or not the client is still there. Recorded as a stream when it was relayed as
 * one: the provider reads its own `stream` field (`stream=1`, a field sent twice), so only its answer tells.
 */
const perRequestOutcome = ({ tariff, hold }: Admission, request: Request, answer: UpstreamAnswer) => ({
  ...paidEvenIfLeft(answeredOutcome(tariff, { promptTokens: 0, completionTokens: 0, cachedTokens: 0 }, hold, answer.elapsed()), request.signal),
  stream: isEventStream(answer.res),
})

/**
 * An answer passed on as it streams (speech's audio, a transcription's events), once `errorCheckedAnswer` has
 * looked at its start: released and a 502 when it is only an error, paid and a 502 when it echoes the request,
 * else paid now, as the provider charges once it has answered. The upstream slot stays taken until the body has
 * ended: the provider's call is in flight till then. A client that takes nothing for `clientIdleMs` is let go, so a
 * paused reader cannot keep one of the provider-call slots for the whole upstream timeout.
 */
async function streamedThrough(admission: Admission, request: Request, called: UpstreamAnswer, fallbackType: string, clientIdleMs: number): Promise<Response> {
  const { hold } = admission
  const answer = await errorCheckedAnswer(called, admission.model.provider)
  const slotBack = hold.detachEnded()
  hold.settle(perRequestOutcome(admission, request, answer))
  return new Response(relayBody(answer, request, { onEnd: slotBack, clientIdleMs }), {
    headers: { 'content-type': contentTypeOf(answer.res, fallbackType, admission.model.provider), ...budgetHeaders(hold) },
  })
}

export const audioRoutes = (services: Services) => {
  const { config, providers } = services
  const admitAudio = async (request: Request, server: Server<unknown> | null, endpoint: string, body: { model: string; user?: string }, stream: boolean) => {
    const target = resolveModel(services, body.model, endpoint)
    refuseAnthropicModel(providers, body.model, endpoint)
    // A router's fallbacks (LiteLLM serves both audio routes with them) are refused before the hold, as on chat;
    // a transcription sends them as form fields.
    if (target) refuseModelFallbacks(endpoint === TRANSCRIPTIONS ? formFallbackFields(body) : body, target.upstreamModel)
    return admitRequest(services, request, server, {
      model: body.model,
      target,
      namedUser: body.user,
      endpoint,
      stream,
      pricingExempt: true,
      bodyAtPeak: true,
      estimate: perRequestEstimate,
    })
  }

  return new Elysia({ name: 'audio' })
    .post(
      SPEECH,
      async ({ body, request, server }) => {
        // A router's `extra_body` (LiteLLM merges it over the request it sends, `model` included) and the headers it sends (`refuseRouterHeaders`) are refused as on chat.
        refuseExtraBody(body)
        refuseRouterHeaders(body)
        const admission = await admitAudio(request, server, SPEECH, body, body.stream_format === 'sse')
        using hold = admission.hold
        const { model } = admission

        const { user: _billing, ...fields } = body
        const called = await callUpstream(model.provider, '/audio/speech', withFieldsLast(fields, { model: model.upstreamModel }), {
          hold, timeoutMs: config.upstream_timeout_ms, clientSignal: request.signal,
        })
        // Audio, or its events when asked for as a stream (`stream_format: "sse"`).
        return await streamedThrough(admission, request, called, 'application/octet-stream', config.upstream_idle_timeout_ms)
      },
      {
        body: speechBody,
        parse: 'json',
        transform: ({ body }) => refuseCaseVariantKeys(body),
        detail: {
          tags: ['inference'],
          summary: 'Text to speech (OpenAI format; the audio is streamed through)',
          description: 'Costs the model\'s `per_request` price, or nothing when it has none; served even when pricing is required.',
          responses: billedCallResponses({
            format: 'openai',
            perRequest: true,
            ok: 'The audio, streamed through; its events with `stream_format: "sse"`',
            refusals: [ANTHROPIC_MODEL_REFUSED, EXTRA_BODY_REFUSED],
          }),
        },
      },
    )
    .post(
      TRANSCRIPTIONS,
      async ({ body, request, server }) => {
        // A form's `extra_body` is text, never Gemini's `google` object: refused whatever it holds, as on speech; so are a router's header fields.
        refuseExtraBody(body)
        refuseRouterHeaders(body)
        const admission = await admitAudio(request, server, TRANSCRIPTIONS, body, formSaysTrue(body.stream))
        using hold = admission.hold
        const { model } = admission

        const answer = await callUpstream(model.provider, '/audio/transcriptions', upstreamForm(body, model.upstreamModel), {
          hold, timeoutMs: config.upstream_timeout_ms, clientSignal: request.signal,
        })
        // Asked for as a stream (`stream=true`): its events pass on as they come, never read whole first.
        if (isEventStream(answer.res)) return await streamedThrough(admission, request, answer, 'text/event-stream', config.upstream_idle_timeout_ms)
        const text = await readAnswer(answer, transcriptReader(answer, body.response_format, model.provider))
        hold.settle(perRequestOutcome(admission, request, answer))
        // JSON by default; text, srt or vtt when the client asked for that `response_format`.
        return new Response(text, { headers: { 'content-type': contentTypeOf(answer.res, 'application/json', model.provider), ...budgetHeaders(hold) } })
      },
      {
        body: transcriptionBody,
        // Our parser first; naming the standard one as well puts multipart/form-data in the OpenAPI document.
        parse: [({ request }) => formAsSent(request), 'multipart/form-data'],
        transform: ({ body, request }) => {
          if (!isMultipart(request)) throw badRequest('Invalid body: a transcription is sent as multipart/form-data.')
          // Go's form decoders match field names ignoring case too (gorilla/schema, which fiber's BodyParser forks).
          refuseCaseVariantKeys(body)
        },
        detail: {
          tags: ['inference'],
          summary: 'Speech to text (OpenAI format, multipart/form-data)',
          description: 'Costs the model\'s `per_request` price, or nothing when it has none; served even when pricing is required.',
          responses: billedCallResponses({
            format: 'openai',
            perRequest: true,
            ok: 'The transcription: JSON, or text, srt or vtt as `response_format` asks; its events with `stream=true`',
            refusals: [ANTHROPIC_MODEL_REFUSED, EXTRA_BODY_REFUSED],
          }),
        },
      },
    )
}
