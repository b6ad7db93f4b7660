import type { ScriptedUpstream } from '../../support/scripted-upstream'

/**
 * Answers Responses turns as a provider that keeps conversations does: a turn's input is the conversation so far
 * plus what the turn sent (its text's length in tokens, 20 for anything else), and one token of output grows it
 * too; `conversations` holds each one's size. A first turn names the conversation the provider makes for it in its
 * input ("start conv_…"). `beforeAnswer`, given the turn's own tokens, may hold an answer back (a long turn answered
 * while a lock is held).
 */
export function answerAsConversations(
  upstream: ScriptedUpstream,
  conversations: Map<string, number>,
  beforeAnswer: (ownTokens: number) => Promise<void> | undefined = () => undefined,
): void {
  let n = 0
  upstream.answer(async ({ body }) => {
    const own = typeof body.input === 'string' ? body.input.length : 20
    await beforeAnswer(own)
    const conversation: string = body.conversation ?? String(body.input).split(' ')[1]
    const input = (conversations.get(conversation) ?? 0) + own
    const output = 1
    conversations.set(conversation, input + output)
    const id = `resp_${++n}`
    const message = { id: `msg_${n}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text: 'k' }] }
    return Response.json({
      id, object: 'response', created_at: 1, status: 'completed', model: 'm', output: [message], store: true,
      conversation: { id: conversation },
      usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output },
    })
  })
}
