/**
 * README ("Request bodies"): each inference route's schema, the one /docs shows, types the fields the gateway reads —
 * "tool definitions (objects with a `name`: a chat `function` tool carries `function.name`)". The gateway refuses
 * `{"type":"function"}` without `function` with a 400 naming `tools[0].function`; the document's item schema for chat's
 * `tools` required only `type`, so a body valid by /docs/json was refused, and a client (or a contract test) built
 * from the document could not know why. The document says what the gateway requires: `function` for a `function`
 * tool (an `if`/`then` on `type`), and nothing more of another type.
 */
import { expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

/** Whether `tool` is admitted by the documented item schema of chat's `tools`, as JSON Schema reads it (the parts used here). */
function documentedValid(itemSchema: any, tool: Record<string, unknown>): boolean {
  const required: string[] = itemSchema.required ?? []
  if (required.some((name) => !(name in tool))) return false
  const conditional = [itemSchema, ...(itemSchema.allOf ?? [])].filter((s: any) => s.if && s.then)
  for (const s of conditional) {
    const constType = s.if?.properties?.type?.const
    if (constType === tool.type && (s.then.required ?? []).some((name: string) => !(name in tool))) return false
  }
  const variants = itemSchema.oneOf ?? itemSchema.anyOf
  if (variants) return variants.some((v: any) => documentedValid(v, tool))
  return true
}

test('a chat tool: the document and the gateway agree on whether it is valid', async () => {
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  const schema = doc.paths['/v1/chat/completions'].post.requestBody.content['application/json'].schema
  const itemSchema = schema.properties.tools.items
  const { secret } = await gw.userWithKey({ id: 'docs-fn-tool', max_budget: 10 })
  const send = async (tool: Record<string, unknown>) => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 8, tools: [tool], messages: [{ role: 'user', content: 'hi' }] }),
    })
    const body = (await res.json()) as any
    return { status: res.status, param: body.error?.param ?? null }
  }

  // A function tool without its function: refused, naming the field, by the gateway and by the document.
  const bare = { type: 'function' }
  expect(await send(bare)).toEqual({ status: 400, param: 'tools[0].function' })
  expect({ tool: bare, validPerDocs: documentedValid(itemSchema, bare) }).toEqual({ tool: bare, validPerDocs: false })

  // With it, and a custom tool (which has no `function`): admitted by both.
  for (const tool of [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }, { type: 'custom', custom: { name: 'c' } }]) {
    expect({ tool, answer: await send(tool) }).toEqual({ tool, answer: { status: 200, param: null } })
    expect({ tool, validPerDocs: documentedValid(itemSchema, tool) }).toEqual({ tool, validPerDocs: true })
  }
})
