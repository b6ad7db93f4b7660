import { describe, expect, test } from 'bun:test'
import { messagesRequestToChat } from '../src/translate/messages-request-to-chat'
import { responsesRequestToChat } from '../src/translate/responses/request-to-chat'

/**
 * A client's end-user tag translated into chat's `user` must be one OpenAI accepts (at most 64 characters,
 * else 400 `string_above_max_length`): as it came when it fits, else a stable 64-character digest of it.
 */
const claudeCodeTag = JSON.stringify({ device_id: 'd'.repeat(64), account_uuid: '', session_id: '0b6c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b' })
const sha256Hex = (text: string) => new Bun.CryptoHasher('sha256').update(text).digest('hex')
const fromMessages = (userId: string) =>
  messagesRequestToChat({ max_tokens: 5, messages: [{ role: 'user', content: 'x' }], metadata: { user_id: userId } }, { outputCapField: 'max_tokens' }).user
const fromResponses = (body: Record<string, unknown>) => responsesRequestToChat({ input: 'x', ...body }, { outputCapField: 'max_tokens' }).request.user

describe("end-user tag → chat's user", () => {
  test('messages: a short tag goes as it is; a 64-character one too', () => {
    expect(fromMessages('u-1')).toBe('u-1')
    expect(fromMessages('a'.repeat(64))).toBe('a'.repeat(64))
  })

  test("messages: Claude Code's session tag (a ~150-character JSON string) goes as its SHA-256, the same on every turn", () => {
    expect(claudeCodeTag.length).toBeGreaterThan(64)
    const sent = fromMessages(claudeCodeTag)
    expect(sent).toBe(sha256Hex(claudeCodeTag))
    expect(sent).toHaveLength(64)
    expect(fromMessages(claudeCodeTag)).toBe(sent)
    expect(fromMessages(claudeCodeTag + 'x')).not.toBe(sent)
  })

  test('responses: user, or else safety_identifier, under the same rule', () => {
    expect(fromResponses({ user: 'u-1' })).toBe('u-1')
    expect(fromResponses({ user: 'a'.repeat(65) })).toBe(sha256Hex('a'.repeat(65)))
    expect(fromResponses({ safety_identifier: 'b'.repeat(200) })).toBe(sha256Hex('b'.repeat(200)))
  })
})
