/**
 * A real client streaming a JSON body with Python `requests` from `json.JSONEncoder().iterencode(...)` (the standard
 * library's way to stream a large JSON document) is served. It was refused 400 body_too_fragmented (red team jh):
 *
 * requests sends each item a generator yields as one HTTP chunk (urllib3 chunked=True), and iterencode yields one
 * token at a time ('{', '"role"', ': ', ...). A coding agent's conversation late in a session (400 tool round trips,
 * 270 KB) is ~20,000 pieces averaging ~13 bytes: past FREE_CHUNKS (4,096) at under 512 bytes a chunk. The body is
 * small (a quarter of the 960 KiB Bun reads whole when declared), valid, from a key with budget, and was served
 * before d3721d63. readBodyWithin counts Bun's reads of the body stream, one per HTTP chunk frame however many
 * frames arrive in one TCP segment, so it is the sender's framing, not the wire, that is judged.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  ;({ secret } = await gw.userWithKey({ id: 'rt-jh-python', max_budget: 10 }))
})

afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

const PYTHON = String.raw`
import json, sys, requests
url, key, pieces_only = sys.argv[1], sys.argv[2], sys.argv[3] == '1'
msgs = [{"role": "system", "content": "You are a coding agent."}]
for i in range(400):
    msgs.append({"role": "assistant", "content": None, "tool_calls": [{"id": "call_%d" % i, "type": "function",
                 "function": {"name": "read_file", "arguments": json.dumps({"path": "src/file%d.ts" % i})}}]})
    msgs.append({"role": "tool", "tool_call_id": "call_%d" % i, "content": ("export const x = %d\n" % i) * 20})
payload = {"model": "mock:gpt-mock", "max_tokens": 5, "messages": msgs}
if pieces_only:
    pieces = list(json.JSONEncoder().iterencode(payload))
    total = sum(len(p.encode()) for p in pieces)
    print(json.dumps({"pieces": len(pieces), "bytes": total}))
    sys.exit(0)
body = (p.encode() for p in json.JSONEncoder().iterencode(payload))
r = requests.post(url + "/v1/chat/completions", data=body,
                  headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"}, timeout=60)
print(json.dumps({"status": r.status_code, "body": r.text[:300]}))
`

const python = async (...args: string[]) => {
  const proc = Bun.spawn(['python3', '-c', PYTHON, ...args], { stdout: 'pipe', stderr: 'pipe' })
  const [out, err] = [await new Response(proc.stdout).text(), await new Response(proc.stderr).text()]
  if ((await proc.exited) !== 0) throw new Error(`python3 failed: ${err}`)
  return JSON.parse(out)
}

test('a 270 KB agent conversation streamed by Python requests from json iterencode is served', async () => {
  const { pieces, bytes } = await python(gw.url, secret, '1')
  console.log(`iterencode: ${pieces} pieces, ${bytes} bytes, ${(bytes / pieces).toFixed(1)} bytes a piece`)
  expect(bytes).toBeLessThan(960 * 1024)
  const answer = await python(gw.url, secret, '0')
  console.log(`answer: ${answer.status} ${answer.body}`)
  expect(answer.body).not.toContain('body_too_fragmented')
  expect(answer.status).toBe(200)
  expect(mock.calls.length).toBe(1)
}, 60_000)
