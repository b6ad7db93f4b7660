/**
 * Mutation guard: the console's sign-in (`POST /v1/session`), which anyone reaches without a
 * credential, has a body limit of its own: "Its body has a 4 KB limit of its own, refused with a 413 before it is
 * read" (README). No test sent it a body between 4 KB and the general limit, so raising or dropping that limit
 * (`SMALL_BODY_LIMITS`, src/plugins/body-limit.ts) passed every test and let anyone have megabytes read and parsed on
 * the request thread before the route's Origin check and rate limit. Declared and chunked alike.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway

beforeAll(async () => {
  gw = await startTestGateway()
})
afterAll(async () => {
  await gw?.stop()
})

const bodyOf = (bytes: number) => {
  const empty = JSON.stringify({ key: '' })
  return JSON.stringify({ key: 'k'.repeat(bytes - empty.length) })
}

async function signIn(body: string, chunked: boolean) {
  const bytes = new TextEncoder().encode(body)
  const res = await fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gw.url },
    body: chunked
      ? new ReadableStream({
          start(c) {
            c.enqueue(bytes.slice(0, 100))
            c.enqueue(bytes.slice(100))
            c.close()
          },
        })
      : body,
    ...(chunked && { duplex: 'half' }),
  } as RequestInit)
  const text = await res.text()
  let code: string | null = null
  try {
    code = JSON.parse(text).error?.code ?? null
  } catch {}
  return { status: res.status, code }
}

test('a sign-in body past 4096 bytes is refused 413 body_too_large, declared or chunked; one of 4096 is read', async () => {
  for (const chunked of [false, true]) {
    expect({ chunked, ...(await signIn(bodyOf(4097), chunked)) }).toEqual({ chunked, status: 413, code: 'body_too_large' })
    expect({ chunked, ...(await signIn(bodyOf(64 * 1024), chunked)) }).toEqual({ chunked, status: 413, code: 'body_too_large' })
    // At the limit the body is read: the key it holds is simply wrong.
    const atLimit = await signIn(bodyOf(4096), chunked)
    expect({ chunked, status: atLimit.status }).not.toEqual({ chunked, status: 413 })
  }
})
