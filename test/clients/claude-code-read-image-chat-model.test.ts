import { expect, setDefaultTimeout, test } from 'bun:test'
import { join } from 'node:path'
import { binOf, runCli, scratchDir } from '../support/clients'
import { startTestGateway } from '../support/gateway'
import { openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream } from '../support/scripted-upstream'

setDefaultTimeout(120_000)

// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')

/**
 * Claude Code on a model served by an OpenAI-compatible provider (/v1/messages → chat) reads an image file with
 * its Read tool: the tool_result it sends back holds an image block. A chat `tool` message takes only text, so the
 * image has to travel another way: a user message after the tool messages. The gateway refused the whole turn
 * (400) instead, and every later turn carries the same tool_result: the session could not go on.
 */
test('claude -p reads a PNG with its Read tool on a chat-served model and finishes', async () => {
  const upstream = startScriptedUpstream()
  const gw = await startTestGateway({ config: { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } } })
  const { secret } = await gw.userWithKey({ id: 'u1', max_budget: 10 }, { user_field: 'tag' })
  const home = scratchDir('claude-image-home-')
  const work = scratchDir('claude-image-work-')
  const picture = join(work.path, 'pic.png')
  await Bun.write(picture, PNG)
  upstream.answer((call) => {
    const base = { id: `chatcmpl-${upstream.calls.length}`, object: 'chat.completion.chunk', created: 1, model: 'm' }
    const ev = (delta: unknown, finish: string | null = null) => openAIEvent({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })
    const usage = openAIEvent({ ...base, choices: [], usage: { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 } })
    const answered = (call.body.messages as any[]).some((m) => m.role === 'tool')
    return sseResponse(answered
      ? [ev({ role: 'assistant', content: 'A one-pixel picture.' }), ev({}, 'stop'), usage, 'data: [DONE]\n\n']
      : [ev({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_read1', type: 'function', function: { name: 'Read', arguments: JSON.stringify({ file_path: picture }) } }] }), ev({}, 'tool_calls'), usage, 'data: [DONE]\n\n'])
  })
  try {
    const result = await runCli([binOf('claude'), '-p', 'Describe pic.png', '--allowedTools', 'Read'], {
      cwd: work.path,
      timeoutMs: 100_000,
      env: { HOME: home.path, CLAUDE_CONFIG_DIR: join(home.path, '.claude'), ANTHROPIC_BASE_URL: gw.url, ANTHROPIC_API_KEY: secret, ANTHROPIC_MODEL: 'plain:m', DISABLE_TELEMETRY: '1', DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
    })
    // The second turn (the Read result) reached the provider: its tool message is text, the picture is sent beside it.
    expect(upstream.calls.length, result.output).toBe(2)
    const second = upstream.calls[1]!.body.messages as any[]
    const at = second.findIndex((m) => m.role === 'tool')
    expect(second[at]?.tool_call_id).toBe('call_read1')
    expect(typeof second[at].content).toBe('string')
    // Right after the tool message, a user message carries the picture.
    expect(second[at + 1]?.role).toBe('user')
    expect(JSON.stringify(second[at + 1].content)).toContain(`data:image/png;base64,${PNG.toString('base64')}`)
    expect(result.output).toContain('A one-pixel picture.')
    expect(result.code).toBe(0)
  } finally {
    await gw.stop()
    await upstream.stop()
    home.remove()
    work.remove()
  }
})
