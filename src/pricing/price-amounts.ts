import { z } from 'zod'
import { wholeMicros } from '../budget/money'

/** What the API and the config file say about an amount that is finer than the ledger can count. */
export const NOT_WHOLE_MICROS_PER_MILLION = 'must be a whole number of micro-USD per million tokens (at most 6 decimal places)'
export const NOT_WHOLE_MICROS = 'must be a whole number of micro-USD (at most 6 decimal places)'

/** Amounts in USD that the ledger can hold exactly: the API's and the config file's schemas start from these. */
export const wholeMicrosPerMillion = z.number().nonnegative().refine((v) => wholeMicros(v) !== null, NOT_WHOLE_MICROS_PER_MILLION)
/** A whole amount of micro-USD: a per-request price, a budget (a finer budget would be rounded, to 0 perhaps). */
export const wholeMicrosUsd = z.number().nonnegative().refine((v) => wholeMicros(v) !== null, NOT_WHOLE_MICROS)
export const wholeMicrosPerRequest = wholeMicrosUsd

export class InvalidPrice extends Error {
  override name = 'InvalidPrice'
  constructor(readonly model: string, readonly field: string, reason: string) {
    super(`pricing.${model}.${field}: ${reason}`)
  }
}

export interface PriceAmounts {
  input_per_million: number
  output_per_million: number
  cached_input_per_million?: number | null
  per_request?: number | null
}

export interface PriceMicros {
  inputPerMillion: number
  outputPerMillion: number
  cachedInputPerMillion: number | null
  perRequest: number | null
}

/**
 * The amounts in micro-USD, exactly: a price is never rounded on its way into the ledger, since rounding
 * down would bill less than the operator set. Throws InvalidPrice naming the model and field otherwise.
 */
export function priceMicros(model: string, p: PriceAmounts): PriceMicros {
  const exact = (field: keyof PriceAmounts, usd: number, reason: string) => {
    const micros = wholeMicros(usd)
    if (micros === null || micros < 0) throw new InvalidPrice(model, field, micros === null ? reason : 'must not be negative')
    return micros
  }
  return {
    inputPerMillion: exact('input_per_million', p.input_per_million, NOT_WHOLE_MICROS_PER_MILLION),
    outputPerMillion: exact('output_per_million', p.output_per_million, NOT_WHOLE_MICROS_PER_MILLION),
    cachedInputPerMillion:
      p.cached_input_per_million == null ? null : exact('cached_input_per_million', p.cached_input_per_million, NOT_WHOLE_MICROS_PER_MILLION),
    perRequest: p.per_request == null ? null : exact('per_request', p.per_request, NOT_WHOLE_MICROS),
  }
}
