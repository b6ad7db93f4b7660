/**
 * Mutation guard: README: "a form whose Content-Type names no boundary, two, or one readers may take
 * differently … is refused 400 `invalid_json`". The existing tests send one boundary, or one hidden in a quoted
 * parameter; none names two, so taking the first of several (`boundaries?.length` for `=== 1`, form-body.ts
 * `boundaryOf`) passed them all, and the parts would be counted with a boundary that another reader of the same
 * Content-Type need not parse with.
 */
import { expect, test } from 'bun:test'
import { GatewayError } from '../src/http/errors'
import { formOf } from '../src/http/form-body'

const form = (boundary: string) =>
  new TextEncoder().encode(`--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nm\r\n--${boundary}--\r\n`)

async function refusal(contentType: string, boundary: string) {
  try {
    await formOf(form(boundary), new Headers({ 'content-type': contentType }))
    return null
  } catch (error) {
    if (error instanceof GatewayError) return { status: error.status, code: error.code }
    throw error
  }
}

test('a multipart Content-Type naming two boundaries is refused 400 invalid_json, whichever the body uses', async () => {
  for (const [contentType, used] of [
    ['multipart/form-data; boundary=a; boundary=b', 'a'],
    ['multipart/form-data; boundary=a; boundary=b', 'b'],
    ['multipart/form-data; boundary=a; BOUNDARY=a', 'a'],
    ['multipart/form-data; boundary="a"; boundary=a', 'a'],
  ] as const) {
    expect({ contentType, used, refused: await refusal(contentType, used) }).toEqual({ contentType, used, refused: { status: 400, code: 'invalid_json' } })
  }
})

test('one boundary, as a token or quoted, is parsed', async () => {
  expect(await refusal('multipart/form-data; boundary=a', 'a')).toBeNull()
  expect(await refusal('multipart/form-data; boundary="a"', 'a')).toBeNull()
})
