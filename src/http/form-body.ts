export type FormEntry = string | File
export type FormValue = FormEntry | FormEntry[]

export const isMultipart = (message: { headers: Headers }) =>
  /^multipart\/form-data\s*(;|$)/i.test(message.headers.get('content-type') ?? '')

/**
 * The form exactly as sent: a repeated name becomes an array, and nothing else changes. Elysia's own
 * form parser also JSON-decodes values that start with `{` or `[` and nests dotted names, which would
 * alter a prompt on its way upstream. Another content type parses to nothing (the route says why).
 */
export async function formAsSent(message: Pick<Request, 'headers' | 'formData'>): Promise<Record<string, FormValue>> {
  if (!isMultipart(message)) return {}
  const grouped = new Map<string, FormEntry[]>()
  for (const [name, value] of await message.formData()) {
    const values = grouped.get(name)
    if (values) values.push(value)
    else grouped.set(name, [value])
  }
  return Object.fromEntries([...grouped].map(([name, values]) => [name, values.length === 1 ? values[0]! : values]))
}
