/** A chat request for the mock's `mock:gpt-mock` with key `key`, these body fields over the defaults. */
export const mockChat = (url: string, key: string, fields: Record<string, unknown> = {}, signal?: AbortSignal) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], ...fields }),
    signal,
  })
