/**
 * A model whose every request costs exactly its hold: `mock:exact`, output priced at $1 per million tokens
 * (1 µUSD a token), input free, on a mock that writes `longText` (more words than `MAX_TOKENS`), so every
 * answer is cut at exactly `max_tokens`. A budget of k holds then admits exactly k requests however they
 * interleave, and can never admit a k+1-th. Start the mock with `{ completionText: longText }`.
 */
export const MAX_TOKENS = 50
export const HOLD_USD = MAX_TOKENS / 1e6
export const PRICING = { 'mock:exact': { input_per_million: 0, output_per_million: 1 } }
export const longText = Array.from({ length: MAX_TOKENS + 10 }, (_, i) => `w${i}`).join(' ')

/** A chat request for `mock:exact` at `MAX_TOKENS`, with these body fields over the defaults. */
export const chat = (url: string, key: string, extra: Record<string, unknown> = {}, signal?: AbortSignal) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:exact', max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: 'go' }], ...extra }),
    signal,
  })
