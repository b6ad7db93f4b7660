import { MAX_REQUEST_MICROS } from '../budget/money'

/** A price row in force: rates in integer micro-USD per million tokens, per-request price in micro-USD. */
export interface Price {
  id: number
  model: string
  inputPerMillion: number
  outputPerMillion: number
  cachedInputPerMillion: number | null
  perRequest: number | null
  createdAt: number
}

export interface TokenCounts {
  promptTokens: number
  completionTokens: number
  /** Part of promptTokens that the provider served from its cache. */
  cachedTokens: number
}

const MILLION = 1_000_000n

/**
 * Cost in micro-USD, rounded up to the next micro-USD. Tokens × micro-USD-per-million can pass 2^53 for
 * long contexts at dear rates: below that the arithmetic is exact in doubles, past it it is done in BigInt.
 */
export function costOf(price: Price | null, tokens: TokenCounts): number {
  if (!price) return 0
  const cached = Math.min(tokens.cachedTokens, tokens.promptTokens)
  const cachedRate = price.cachedInputPerMillion ?? price.inputPerMillion
  const scaled =
    (tokens.promptTokens - cached) * price.inputPerMillion + cached * cachedRate + tokens.completionTokens * price.outputPerMillion
  // Every term is a non-negative integer, so a sum within the safe range means every term was exact.
  if (scaled <= Number.MAX_SAFE_INTEGER) {
    const remainder = scaled % 1_000_000
    const cost = (scaled - remainder) / 1_000_000 + (remainder > 0 ? 1 : 0) + (price.perRequest ?? 0)
    return Math.min(cost, MAX_REQUEST_MICROS)
  }
  const big =
    BigInt(tokens.promptTokens - cached) * BigInt(price.inputPerMillion) +
    BigInt(cached) * BigInt(cachedRate) +
    BigInt(tokens.completionTokens) * BigInt(price.outputPerMillion)
  const cost = (big + MILLION - 1n) / MILLION + BigInt(price.perRequest ?? 0)
  return cost > BigInt(MAX_REQUEST_MICROS) ? MAX_REQUEST_MICROS : Number(cost)
}

/** The worst case: every input token at the dearest input rate, every allowed output token at the output rate. */
export function worstCaseCost(price: Price | null, inputTokens: number, outputTokens: number): number {
  if (!price) return 0
  const dearestInput = Math.max(price.inputPerMillion, price.cachedInputPerMillion ?? 0)
  return costOf({ ...price, inputPerMillion: dearestInput, cachedInputPerMillion: null }, {
    promptTokens: inputTokens, completionTokens: outputTokens, cachedTokens: 0,
  })
}

/**
 * The most output tokens, at most `maxOutputTokens`, whose worst case with this input costs no more than
 * `amount` micro-USD (the output clamp's inverse of `worstCaseCost`); 0 when not even the input fits.
 */
export function outputTokensWithin(price: Price, inputTokens: number, maxOutputTokens: number, amount: number): number {
  if (price.outputPerMillion === 0) return maxOutputTokens
  const dearestInput = Math.max(price.inputPerMillion, price.cachedInputPerMillion ?? 0)
  // ceil(scaled / 1e6) + perRequest <= amount  ⇔  scaled <= (amount - perRequest) × 1e6
  const room = BigInt(amount - (price.perRequest ?? 0)) * MILLION - BigInt(inputTokens) * BigInt(dearestInput)
  if (room < 0n) return 0
  const tokens = room / BigInt(price.outputPerMillion)
  return tokens >= BigInt(maxOutputTokens) ? maxOutputTokens : Number(tokens)
}
