/**
 * The setting of the PDF hold tests: a gateway with cap-output on (SPEC §6: spend <= max_budget is then an
 * invariant), `ant:m` at $1/M input and $2/M output, in front of a scripted upstream that bills each request a
 * given number of input tokens and 10 output tokens; a user with $0.05 sends one request carrying a PDF. Whatever
 * the provider then bills, the hold must have covered it: the request refused when its PDF does not fit.
 */
import type { TestGateway } from './gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './scripted-upstream'

const BUDGET = 0.05

/** The provider's answer to a request on `path` (Messages, or chat completions) billing `input` tokens and 10 output tokens. */
function billing(path: string, input: number): Response {
  if (path === '/v1/messages')
    return jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Done.' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: input, output_tokens: 10 },
    })
  return jsonResponse({
    id: 'c1', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Done.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: input, completion_tokens: 10, total_tokens: input + 10 },
  })
}

/** A Messages request to `ant:m` (max_tokens 100) of the PDF (base64) as a document, then "Summarise.". */
export const pdfDocumentBody = (pdf: string) => ({
  model: 'ant:m',
  max_tokens: 100,
  messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf } }, { type: 'text', text: 'Summarise.' }] }],
})

/**
 * For a test file, at its top level: the gateway and upstream above, `config` over cap-output and ant:m's price.
 * `send` makes the user `userId` (max_budget $0.05), sends it `body` on `path` while the provider bills
 * `billedInput` input tokens, and returns the answer's status, the calls the provider received, and the user as
 * the admin API reads it once the request is settled.
 */
export function withPdfHoldGateway(config: Record<string, unknown> = {}) {
  let upstream: ScriptedUpstream
  let gw: TestGateway
  withScriptedGateway({ cap_output_tokens: true, pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } }, ...config }, (s) => ({ upstream, gw } = s))
  return {
    async send(userId: string, path: string, body: unknown, billedInput: number) {
      upstream.answer(() => billing(path, billedInput))
      const { secret } = await gw.userWithKey({ id: userId, max_budget: BUDGET })
      const res = await fetch(gw.url + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      await res.text()
      await gw.settled()
      const user = (await gw.admin('GET', `/v1/users/${userId}`)).body
      return { status: res.status, calls: upstream.calls, user }
    },
  }
}
