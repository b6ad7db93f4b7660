import { Elysia } from 'elysia'
import { z } from 'zod'
import { badRequest, GatewayError, notFound } from '../../http/errors'
import type { Price } from '../../pricing/price'
import { contextWindowTokens, featureName, lacksLongContextTier, LONG_CONTEXT_NEEDS_TIER, longContextAboveTokens, mediaPartTokens, priceAmountsOf, templateOverheadTokens, tierMultiplier, wholeMicrosPerMillion, wholeMicrosPerRequest } from '../../pricing/price-amounts'
import { PriceChanged, type PriceRecord } from '../../pricing/price-book'
import type { Services } from '../../services'
import { pricedModelName } from '../../providers/model-name'
import { idCursor, pageQuery, toPage } from './pagination'
import { decimalInteger, filterText, strictQuery } from './strict-query'

const usdPerMillion = wholeMicrosPerMillion.max(1e6).describe('USD per million tokens, a whole number of micro-USD (at most 6 decimal places)')
const usdPerRequest = wholeMicrosPerRequest.max(1e4).describe('USD per request, a whole number of micro-USD (at most 6 decimal places)')

const usdPerUse = wholeMicrosPerRequest.max(1e4).describe('USD per use, a whole number of micro-USD (at most 6 decimal places)')

const createPrice = z
  .object({
    model: pricedModelName,
    input_per_million: usdPerMillion,
    output_per_million: usdPerMillion,
    cached_input_per_million: usdPerMillion.nullable().optional(),
    per_request: usdPerRequest.nullable().optional(),
    cache_write_per_million: usdPerMillion.nullable().optional().describe('5-minute prompt-cache writes; unset: 1.25 × input'),
    cache_write_1h_per_million: usdPerMillion.nullable().optional().describe('1-hour prompt-cache writes; unset: 2 × input'),
    audio_input_per_million: usdPerMillion.nullable().optional().describe('audio input tokens; unset: requests with audio input are refused (402)'),
    audio_output_per_million: usdPerMillion.nullable().optional().describe('audio output tokens; unset: requests for audio output are refused (402)'),
    image_output_per_million: usdPerMillion.nullable().optional().describe('image output tokens (modalities with image: OpenRouter\'s image models); unset: requests for image output are refused (402)'),
    server_tools: z.record(featureName, usdPerUse).optional().describe('USD per use, by server tool (web_search); a tool not listed is refused (402)'),
    service_tiers: z.record(featureName, tierMultiplier).optional()
      .describe('multiplier of every token rate, by service tier (priority, flex; fast for Anthropic fast mode; long_context on top of any other, long_context_output instead of it on output tokens when set (Anthropic: 2 and 1.5); inference_geo_us for Anthropic US-only inference, on top of any other); a tier not listed is refused (402)'),
    long_context_above_tokens: longContextAboveTokens.nullable().optional()
      .describe('prompt tokens (reads and writes included) past which service_tiers.long_context (and long_context_output) apply to every request, with no request flag (OpenAI GPT-5.4: 271999, as it bills 272K and above); needs service_tiers.long_context. Unset: they apply only to Anthropic requests with the context-1m beta, past 200000'),
    media_part_tokens: mediaPartTokens.nullable().optional()
      .describe('the most input tokens one media part (an image at any detail, an audio clip) bills on this model; with cap-output on, each media part of a request to it is held at least at this (gpt-4o-mini: 48169, a high-detail image). Unset: TOLLGATE_MEDIA_PART_TOKENS'),
    context_window_tokens: contextWindowTokens.nullable().optional()
      .describe("this model's context window, in input tokens (gpt-4.1: 1047576); with cap-output on, a request's first file by reference (a text file by id, which no page limit bounds) is held at this when it is larger than TOLLGATE_PDF_MAX_PAGES × TOLLGATE_PDF_PAGE_TOKENS. Unset: that PDF bound"),
    template_overhead_tokens: templateOverheadTokens.nullable().optional()
      .describe("the input tokens this model's chat template writes on its own (a default system prompt, a date header; 0: none); with cap-output on, a chat or Responses request to it through an OpenAI-compatible provider other than OpenAI's API is held for this once. Unset: TOLLGATE_TEMPLATE_OVERHEAD_TOKENS"),
    effective_from: z.iso
      .datetime({ offset: true })
      .transform((s) => Date.parse(s))
      .refine((t) => t >= Date.now(), 'must not be in the past')
      .optional()
      .describe('when the row takes effect (a scheduled change); omitted: now. Until then the current price applies'),
    source: z.string().min(1).max(200).optional().describe('where the price comes from, e.g. the catalog and version it was taken from'),
    based_on: z.number().int().positive().nullable().optional()
      .describe('the id of the row in force this change was made from (null: the model had none), as `GET /v1/pricing/{model}` showed it; 409 `price_changed` when another is in force now, nothing written. Omitted: not checked'),
  })
  .strict()
  .refine((p) => !lacksLongContextTier(p), { path: ['long_context_above_tokens'], message: LONG_CONTEXT_NEEDS_TIER })

const unpriced = z
  .object({
    model: z.string(),
    deleted: z.boolean().describe('a price was in force and is deleted; the fields of that row are given too'),
    cancelled_scheduled: z.number().int().describe('rows scheduled for a later effective_from that are cancelled'),
  })
  .loose()
  .describe('What the DELETE did: 404 when the model had neither a price in force nor a scheduled one')

const modelParam = z.object({
  model: z.string().describe('provider:model, provider/model or an alias; a `/` in it percent-encoded as %2F (or left raw)'),
})
/** The same routes reached with a raw `/` in the model, which the one-segment `:model` cannot match. */
const rawModelParam = z.object({ '*': z.string() })

/**
 * The model a `/v1/pricing/*` path names. Elysia percent-decodes `:model` but not the wildcard, so a model
 * reached with a raw `/` is decoded here, or its other escaped characters (a space, a non-ASCII letter) would
 * name a model nobody priced. A malformed escape is refused rather than looked up as written.
 */
function wildcardModel(params: { '*': string }): string {
  try {
    return decodeURIComponent(params['*'])
  } catch {
    throw badRequest(`The model in the path is not valid percent-encoding: ${JSON.stringify(params['*'])}.`, 'invalid_percent_encoding')
  }
}
const MODEL_IN_PATH =
  'The model may be named as provider:model, provider/model or by alias. A `/` in it may be sent percent-encoded (%2F) or as is.'

const presentPrice = (p: Price) => ({
  id: p.id,
  model: p.model,
  ...priceAmountsOf(p),
  effective_from: new Date(p.createdAt).toISOString(),
  source: p.source ?? null,
})

const presentRecord = (p: PriceRecord) => ({
  ...presentPrice(p),
  effective_until: p.endedAt === null ? null : new Date(p.endedAt).toISOString(),
  deleted_at: p.deletedAt === null ? null : new Date(p.deletedAt).toISOString(),
})

/** Price rows. A POST adds a row that applies from now on; older usage rows keep citing the row they used. */
export const pricingRoutes = ({ prices, providers }: Services) => {
  // Read from the database, never from the request path's cache: a change is made from what these show.
  const inForce = async (model: string) => {
    const price = await prices.storedPriceOf(providers.canonicalName(model))
    if (!price) throw notFound(`No price in force for ${JSON.stringify(model)}.`, 'price_not_found')
    return presentPrice(price)
  }
  /** The `?model=` filter of the list: the model's price in force, if any, as a page of it (past the cursor or offset; a cursor beats an offset, as on every list). */
  const pricedModel = async (model: string, cursor: string | undefined, offset: number | undefined) => {
    const price = await prices.storedPriceOf(providers.canonicalName(model))
    const onPage = cursor === undefined ? !offset : price !== null && price.model > cursor
    return price && onPage ? [price] : []
  }
  const unprice = async (model: string) => {
    const canonical = providers.canonicalName(model)
    const { inForce, cancelledScheduled } = await prices.remove(canonical)
    if (!inForce && cancelledScheduled === 0) throw notFound(`No price in force or scheduled for ${JSON.stringify(model)}.`, 'price_not_found')
    return { ...(inForce ? presentPrice(inForce) : { model: canonical }), deleted: inForce !== null, cancelled_scheduled: cancelledScheduled }
  }

  return new Elysia({ name: 'admin-pricing' })
    .post(
      '/v1/pricing',
      async ({ body, set }) => {
        const model = providers.resolve(body.model)
        if (!model) throw badRequest('Invalid body: model: names a provider that is not configured')
        set.status = 201
        const { effective_from, based_on, ...amounts } = body
        // A time the body's check found ahead may have passed since, while the request was handled: it is now,
        // the same now the price book checks it against (a millisecond later it would be "in the past").
        const now = Date.now()
        const effectiveFrom = effective_from === undefined ? undefined : Math.max(effective_from, now)
        try {
          return presentPrice(await prices.set({ ...amounts, model: model.canonical, effectiveFrom, basedOn: based_on }, now))
        } catch (error) {
          if (!(error instanceof PriceChanged)) throw error
          throw new GatewayError(409, 'price_changed', `The price in force for ${model.canonical} changed since row ${based_on ?? '(none)'} was read: nothing was written. Read it again and resend.`)
        }
      },
      { body: createPrice, parse: 'json', detail: { tags: ['pricing'], summary: 'Set the price of provider:model from now on, or from a later effective time (USD per million tokens)' } },
    )
    .get(
      '/v1/pricing',
      async ({ query }) => {
        const rows = query.model === undefined ? await prices.storedPage(query.cursor, query.limit + 1, query.offset ?? 0) : await pricedModel(query.model, query.cursor, query.offset)
        return toPage(rows, query.limit, presentPrice, (p) => p.model)
      },
      {
        query: strictQuery({ ...pageQuery, model: filterText.max(256).optional().describe('provider:model, provider/model or an alias') }),
        detail: {
          tags: ['pricing'],
          summary: 'Prices in force, by model (filter: model)',
          description: 'With ?model=, the price in force for that model as a page of one row, or of none for a model with no price (where GET /v1/pricing/{model} answers 404).',
        },
      },
    )
    .get(
      '/v1/pricing/history',
      async ({ query }) => {
        const beforeId = idCursor(query.cursor)
        const rows = await prices.history({
          model: query.model === undefined ? null : providers.canonicalName(query.model),
          beforeId,
          limit: query.limit + 1,
          offset: beforeId === undefined ? query.offset : 0,
        })
        return toPage(rows, query.limit, presentRecord, (p) => String(p.id))
      },
      {
        query: strictQuery({ ...pageQuery, model: filterText.max(256).optional().describe('provider:model, provider/model or an alias') }),
        detail: {
          tags: ['pricing'],
          summary: 'Every price row, newest first: in force, superseded and deleted (filter: model)',
          description: 'effective_until is when a row stopped applying (a newer row, or its deletion); null while in force.',
        },
      },
    )
    .get(
      '/v1/pricing/history/:id',
      async ({ params }) => {
        const record = await prices.record(params.id)
        if (!record) throw notFound(`No price row with id ${params.id}.`, 'price_not_found')
        return presentRecord(record)
      },
      {
        params: z.object({ id: decimalInteger(1).describe('a price_id, as usage rows show it') }),
        detail: { tags: ['pricing'], summary: 'One price row by id (the price_id of a usage row), whether or not it is still in force' },
      },
    )
    .get('/v1/pricing/:model', ({ params }) => inForce(params.model), {
      params: modelParam,
      detail: { tags: ['pricing'], summary: 'The price in force for a model', description: MODEL_IN_PATH },
    })
    .get('/v1/pricing/*', ({ params }) => inForce(wildcardModel(params)), { params: rawModelParam, detail: { hide: true } })
    .delete('/v1/pricing/:model', ({ params }) => unprice(params.model), {
      params: modelParam,
      response: { 200: unpriced },
      detail: {
        tags: ['pricing'],
        summary: 'Unprice a model, cancelling its scheduled prices too (history is kept)',
        description: MODEL_IN_PATH,
      },
    })
    .delete('/v1/pricing/*', ({ params }) => unprice(wildcardModel(params)), { params: rawModelParam, response: { 200: unpriced }, detail: { hide: true } })
}
