/** The longest `user` OpenAI's chat completions accept (a longer one is a 400 `string_above_max_length`). */
const OPENAI_USER_MAX_LENGTH = 64

/**
 * A client's end-user tag as a translation sends it in chat's `user`: as it is when it fits, else its
 * SHA-256 in hex (exactly 64 characters). Claude Code's `metadata.user_id` is a ~150-character JSON
 * string, which OpenAI would refuse on every turn; the digest stays one stable tag per session.
 */
export const openAIEndUserTag = (tag: string): string =>
  tag.length <= OPENAI_USER_MAX_LENGTH ? tag : new Bun.CryptoHasher('sha256').update(tag).digest('hex')
