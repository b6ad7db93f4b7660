import type { OpenAPIV3, OpenAPIV3_1 } from 'openapi-types'
import { anthropicErrorType, type WireFormat } from '../http/errors'

/** The error bodies of the two wire formats (SPEC §3), as the OpenAPI document's components name them. */
export const ERROR_SCHEMAS: Record<string, OpenAPIV3_1.SchemaObject> = {
  OpenAIError: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['message', 'type', 'code', 'param'],
        properties: {
          message: { type: 'string' },
          type: { type: 'string' },
          code: { type: 'string' },
          param: { type: ['string', 'null'], description: 'The field at fault (`messages[0].content`) for an invalid request, else null' },
        },
      },
    },
  },
  AnthropicError: {
    type: 'object',
    required: ['type', 'error'],
    properties: {
      type: { type: 'string', enum: ['error'] },
      error: { type: 'object', required: ['type', 'message'], properties: { type: { type: 'string' }, message: { type: 'string' } } },
    },
  },
}

type Cause = readonly [code: string, why: string]

/** A refusal only some billed routes answer: its status, its code, and why. */
type RouteRefusal = readonly [status: number, code: string, why: string]

/**
 * Request fields some routes refuse as `feature_unsupported`, named in its description: a router or a server reads
 * them past what the hold covers.
 */
const unservedFields = (fields: string): RouteRefusal => [400, 'feature_unsupported', fields]
export const EXTRA_BODY_REFUSED = unservedFields("`extra_body` other than Gemini's `google`, and `extra_headers`, `headers` and `provider_specific_header`")
export const PRESET_REFUSED = unservedFields("OpenRouter's `preset`")
export const SERVER_FIELDS_REFUSED = unservedFields("vLLM's `chat_template`, `mm_processor_kwargs` and `media_io_kwargs`, llama.cpp's `n_predict` and `n_cmpl`")
export const EMBEDDINGS_CHAT_FIELDS_REFUSED = unservedFields("vLLM's chat-style `messages`, `chat_template`, `mm_processor_kwargs` and `media_io_kwargs`")
export const IMAGE_GENERATION_SETTINGS_REFUSED = unservedFields("`image_generation`'s `output_format` `gif` or `svg` (`frame_count`, `svg`), `partial_images`, an input file (`input_file`) or a tool running in a container (`code_interpreter`, a hosted `shell`) beside it, a stored context holding an image or file (`previous_response_id`, `conversation`); and, unless the price row sets `server_tools.image_generation_text_input_per_million` and `.image_generation_image_input_per_million`, `action` `edit`, `input_fidelity` `high`, `input_image_mask` and an input image (`input_image`, a `computer_screenshot`, `image_generation_call`) beside it, or, with a `model` other than `gpt-image-1` and `gpt-image-1-mini`, whatever the rates")
export const CHAT_OUTPUT_FIELDS_REFUSED = unservedFields("chat completions' `max_tokens`, `max_completion_tokens` and `n` other than 1")
/** A prompt template kept by the provider or a router (`refuseStoredPromptTemplate`, and Responses' `refuseStoredPrompt`). */
export const STORED_PROMPT_REFUSED: RouteRefusal = [400, 'unsized_stored_input', "a stored prompt template (a `prompt` object, or LiteLLM's `prompt_id`), whose size the gateway cannot know"]
export const ANTHROPIC_MODEL_REFUSED: RouteRefusal = [400, 'unsupported_endpoint', 'the model is served by an Anthropic provider, which has no such endpoint']

/** Why a billed call is refused, by status, each cause by the code an OpenAI-format body carries. */
function causes(format: WireFormat, perRequest: boolean): Record<number, Cause[]> {
  const userField = format === 'anthropic' ? 'metadata.user_id' : 'user'
  return {
    400: [
      ['invalid_request', 'the body is invalid; the message names the field, never its value'],
      ['invalid_json', 'the body does not parse as its content type says, is nested more than 128 levels deep, holds more than 1,000,000 values, or (a form) more than 1,000 parts'],
      ['case_variant_key', "a key out of lowercase where the API's fields are read"],
      ['user_required', `the master key names no user to bill (\`${userField}\`)`],
      ['feature_unsupported', 'the model, or a feature the request uses, is not served'],
      ...(perRequest ? [] : [['estimate_too_large', 'the worst case is $1,000,000 or more: lower the max output'] as const]),
      ['upstream_rejected', "the provider refused the request (its 4xx status is kept; its text is summarised)"],
    ],
    401: [['invalid_api_key', 'the key is missing, unknown, expired or revoked']],
    402: [
      ['budget_exceeded', "the key's or its user's remaining budget cannot hold the request's worst case"],
      [
        'pricing_required',
        perRequest
          ? 'pricing is required and the model is priced only by tokens, which this route cannot bill (an unpriced model is served at $0)'
          : 'pricing is required and the model, or a billed feature the request uses, has no price',
      ],
    ],
    403: [
      ['user_mismatch', `a virtual key's \`${userField}\` names another user than its own (unless the key's user-field policy is \`tag\`)`],
      ['model_not_allowed', "the key's allow-list does not name the model"],
      ['user_blocked', 'the user is blocked'],
    ],
    404: [
      ['model_not_found', 'no configured provider or alias serves that model'],
      ['user_not_found', 'the master key names a user that does not exist'],
    ],
    408: [['request_timeout', 'the body stopped arriving, or came too slowly']],
    413: [['body_too_large', 'the body is larger than the configured limit']],
    429: [
      ['rate_limit_exceeded', "the key's or this client's request rate, with `Retry-After`"],
      ['upstream_rate_limited', "the provider's own limit, with its `Retry-After` when it gave one"],
    ],
    502: [['upstream_error', 'the provider failed or answered unusably (its text summarised, never forwarded with credentials)']],
    503: [
      ['upstream_busy', 'the gateway already has as many provider calls in flight as it allows'],
      ['body_read_busy', 'the gateway already holds as much of request bodies, being read or in flight, as it allows'],
      ['database_busy', 'the database stayed locked past the busy timeout'],
      ['database_unavailable', 'the database cannot be reached or takes no writes'],
      ['database_full', "the database's disk is full"],
      ['gateway_stopping', 'the gateway is stopping (another replica may take the retry)'],
      ['rate_limiter_unavailable', 'the shared rate limiter (Redis) cannot be reached, or refuses writes, and `redis_failure` is `closed` (`Retry-After: 1`)'],
    ],
    504: [['upstream_timeout', 'the provider did not answer in time']],
  }
}

/** Anthropic's bodies carry no code, only a type by status; a provider overloaded keeps its own in a 502. */
const anthropicTypes = (status: number) => [anthropicErrorType(status), ...(status === 502 ? ['overloaded_error'] : [])]

/** Each code once, with its reasons: a route's own reasons for a code every route has (the fields it refuses as `feature_unsupported`) follow the common one. */
const byCode = (list: Cause[]): Cause[] => {
  const whys = new Map<string, string[]>()
  for (const [code, why] of list) whys.set(code, [...(whys.get(code) ?? []), why])
  return [...whys].map(([code, [first, ...more]]) => [code, more.length === 0 ? first! : `${first}, among them ${more.join(', ')}`])
}

const statusDescription = (status: number, list: Cause[], format: WireFormat): string => {
  // An Anthropic body carries no code; the request log and /v1/audit/refusals still count the refusal by it.
  const whys = byCode(list).map(([code, why]) => (format === 'anthropic' ? `${why} (\`${code}\`)` : `\`${code}\`: ${why}`)).join('; ')
  const lead = format === 'anthropic' ? `${anthropicTypes(status).map((t) => `\`${t}\``).join(' or ')}: ` : ''
  return `${lead}${whys}.${status === 503 ? ' With `Retry-After`.' : ''}`
}

/** The causes of every billed call, and after them the route's own (`refusals`). */
function withRouteRefusals(common: Record<number, Cause[]>, refusals: readonly RouteRefusal[]): Record<number, Cause[]> {
  const all: Record<number, Cause[]> = {}
  for (const [status, list] of Object.entries(common)) all[Number(status)] = [...list]
  for (const [status, code, why] of refusals) (all[status] ??= []).push([code, why])
  return all
}

/**
 * The OpenAPI `responses` of a billed call (chat, messages, responses, embeddings, moderations, speech,
 * transcriptions): its answer, and every refusal SPEC §3 names with the others a client meets, in the route's
 * error shape, with the refusals only this route answers (`refusals`). Documentation only: no schema here is
 * checked against what the route returns.
 */
export function billedCallResponses(options: { format: WireFormat; perRequest?: boolean; ok: string; refusals?: readonly RouteRefusal[] }): OpenAPIV3.ResponsesObject {
  const schema = { $ref: `#/components/schemas/${options.format === 'anthropic' ? 'AnthropicError' : 'OpenAIError'}` }
  const responses: OpenAPIV3.ResponsesObject = { 200: { description: options.ok } }
  const all = withRouteRefusals(causes(options.format, options.perRequest ?? false), options.refusals ?? [])
  for (const [status, list] of Object.entries(all))
    responses[status] = { description: statusDescription(Number(status), list, options.format), content: { 'application/json': { schema } } }
  return responses
}
