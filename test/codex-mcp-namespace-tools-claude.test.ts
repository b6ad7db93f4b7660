import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { binOf, runCli, scratchDir, startClientSetup, type ClientSetup } from './support/clients'
import type { MockOptions } from './support/mock-provider'

setDefaultTimeout(120_000)

/**
 * README "Translation to Anthropic": Codex (0.171.0) offers each MCP server's tools, and its own multi-agent tools,
 * as a Responses `namespace` tool (`{type: "namespace", name: "mcp__facts", tools: [{type: "function", name:
 * "lookup_fact", …}]}`) and reads a call of one as a `function_call` with `name` and `namespace`. Towards Claude
 * each namespaced function is offered as a function of its own (`mcp__facts__lookup_fact`), and Claude's call of it
 * goes back to Codex by name and namespace, and from Codex's next request to Claude by the flat name again.
 */

/** A minimal MCP server over stdio (newline-delimited JSON-RPC) with one tool, read-only so that `codex exec` runs it unasked. */
const MCP_SERVER = `
const rl = require('readline').createInterface({ input: process.stdin })
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n')
rl.on('line', (line) => {
  let m; try { m = JSON.parse(line) } catch { return }
  if (m.id === undefined) return
  if (m.method === 'initialize') send({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: (m.params && m.params.protocolVersion) || '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'facts', version: '1.0.0' } } })
  else if (m.method === 'tools/list') send({ jsonrpc: '2.0', id: m.id, result: { tools: [{ name: 'lookup_fact', description: 'Look up the secret fact', inputSchema: { type: 'object', properties: { topic: { type: 'string' } }, required: ['topic'] }, annotations: { readOnlyHint: true } }] } })
  else if (m.method === 'tools/call') send({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: 'the fact is pomegranate' }] } })
  else send({ jsonrpc: '2.0', id: m.id, result: {} })
})
`

let setup: ClientSetup
let home: ReturnType<typeof scratchDir>

beforeAll(async () => {
  setup = await startClientSetup()
  home = scratchDir('tollgate-codex-mcp-')
})
afterAll(async () => {
  await setup?.stop()
  home?.remove()
})

/** Names of the tools offered upstream, namespaced ones included (`ns/name`). */
function offered(tools: unknown): string[] {
  const names: string[] = []
  for (const t of Array.isArray(tools) ? tools : []) {
    if (t?.type === 'namespace') for (const inner of t.tools ?? []) names.push(`${t.name}/${inner.name}`)
    else names.push(String(t?.name ?? t?.type))
  }
  return names
}

let runs = 0
/** Runs `codex exec` once; `toolCall`: the call the mock model makes first (see MockOptions). */
async function codexWithMcp(model: string, extra: string[], toolCall?: MockOptions['toolCall']) {
  const dir = join(home.path, `${++runs}-${model.replace(/\W/g, '-')}`)
  const codexHome = join(dir, 'codex')
  const work = join(dir, 'work')
  mkdirSync(codexHome, { recursive: true })
  mkdirSync(work)
  const server = join(dir, 'mcp-facts.cjs')
  writeFileSync(server, MCP_SERVER)
  writeFileSync(
    join(codexHome, 'config.toml'),
    [
      `model = "${model}"`, 'model_provider = "tollgate"', ...extra, '',
      '[model_providers.tollgate]', 'name = "tollgate"', `base_url = "${setup.gw.url}/v1"`, 'env_key = "CODEX_GATEWAY_KEY"', 'wire_api = "responses"', '',
      '[mcp_servers.facts]', `command = "${process.execPath}"`, `args = ["${server}"]`, '',
    ].join('\n'),
  )
  setup.mock.reset()
  setup.mock.options.toolCall = toolCall
  const result = await runCli([binOf('codex'), 'exec', '--skip-git-repo-check', 'Use the lookup_fact tool about fruit.'], {
    cwd: work,
    timeoutMs: 90_000,
    env: { HOME: dir, CODEX_HOME: codexHome, CODEX_GATEWAY_KEY: setup.secret },
  })
  expect(result.code, result.output).toBe(0)
  return result.output
}

test('codex exec with an MCP server, OpenAI-type model: the MCP tool reaches the model (control)', async () => {
  await codexWithMcp('mock:gpt-mock', ['web_search = "disabled"'])
  const call = setup.mock.calls.find((c) => c.path === '/v1/responses')!
  expect(offered((call.body as any).tools).some((n) => n.endsWith('lookup_fact'))).toBe(true)
})

test('codex exec with an MCP server, Claude model: the MCP tool is offered to Claude, not dropped', async () => {
  await codexWithMcp('mockant:claude-mock', [])
  const call = setup.mock.calls.find((c) => c.path === '/v1/messages')
  expect(call).toBeDefined()
  const names = offered((call!.body as any).tools)
  expect(names.filter((n) => n.includes('lookup_fact')), `tools offered to Claude: ${names.join(', ')}`).toHaveLength(1)
})

test('codex exec with an MCP server, Claude model: Claude\'s call of the MCP tool runs, its result goes back to Claude', async () => {
  const output = await codexWithMcp('mockant:claude-mock', [], { name: 'mcp__facts__lookup_fact', input: { topic: 'fruit' } })
  expect(output).toContain('mcp: facts/lookup_fact (completed)')
  const calls = setup.mock.calls.filter((c) => c.path === '/v1/messages').map((c) => c.body as any)
  const after = calls.find((body) => JSON.stringify(body.messages).includes('pomegranate'))
  expect(after, 'no request to Claude carried the MCP tool\'s result').toBeDefined()
  const blocks = after.messages.flatMap((m: any) => (Array.isArray(m.content) ? m.content : []))
  expect(blocks.find((b: any) => b.type === 'tool_use')).toMatchObject({ name: 'mcp__facts__lookup_fact', input: { topic: 'fruit' } })
})

test('Responses → Claude, a namespace of client functions (as the openai SDK sends it): its functions are offered', async () => {
  setup.mock.reset()
  const client = new OpenAI({ baseURL: `${setup.gw.url}/v1`, apiKey: setup.secret, maxRetries: 0 })
  const res = await client.responses.create({
    model: 'mockant:claude-mock',
    input: 'Look up the fact about fruit.',
    tools: [
      {
        type: 'namespace',
        name: 'mcp__facts',
        description: 'Tools of the facts MCP server',
        tools: [{ type: 'function', name: 'lookup_fact', description: 'Look up the secret fact', parameters: { type: 'object', properties: { topic: { type: 'string' } }, required: ['topic'] } }],
      },
    ] as any,
  })
  expect(res.status).toBe('completed')
  const call = setup.mock.calls.find((c) => c.path === '/v1/messages')!
  expect(offered((call.body as any).tools).some((n) => n.includes('lookup_fact'))).toBe(true)
})
