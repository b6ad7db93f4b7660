/**
 * SPEC §3: /docs is the OpenAPI document generated from the route schemas, so a developer (Swagger UI's "Try it
 * out", or a client generated from /docs/json) can call every route it lists. `GET /v1/models/{id}` (the SDKs'
 * `models.retrieve`) is published as a path template with a required path parameter, not as the router's literal
 * `/v1/models/*` (which Swagger UI would send as is, and which gives a generated client no argument for the model).
 */
import { expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

test('/docs publishes model retrieval as a path template with a path parameter, and that template works', async () => {
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  const retrieval = Object.keys(doc.paths).filter((p) => p.startsWith('/v1/models/'))
  // No OpenAPI client expands a `*`: the path must be a template such as /v1/models/{model}.
  expect(retrieval.filter((p) => p.includes('*'))).toEqual([])
  const templated = retrieval.filter((p) => /^\/v1\/models\/\{[^}]+\}$/.test(p))
  expect(templated.length).toBe(1)
  const path = templated[0]!
  const name = /\{([^}]+)\}/.exec(path)![1]!
  const param = (doc.paths[path].get.parameters ?? []).find((p: any) => p.in === 'path' && p.name === name)
  expect(param?.required).toBe(true)

  // What Swagger UI and generated clients send: the template with the value percent-encoded.
  const { secret } = await gw.userWithKey({ id: 'docs-retrieve' })
  const res = await fetch(gw.url + path.replace(`{${name}}`, encodeURIComponent('mock:gpt-mock')), { headers: { authorization: `Bearer ${secret}` } })
  expect(res.status).toBe(200)
  expect(((await res.json()) as any).id).toBe('mock:gpt-mock')
})
