/**
 * Chat audio answers by id. An answer with audio output (`modalities: ["audio"]`) carries `message.audio.id` (on a
 * stream, a delta's `audio.id`), and the provider keeps that audio, speech and transcript, in the account every user
 * of the gateway shares: a later message `{role: 'assistant', audio: {id}}` has it read back. So its id is stored
 * state like a response's: recorded for the user billed for the answer, and usable by that user only.
 */

const idOf = (audio: unknown): string | undefined => {
  const id = (audio as { id?: unknown } | null | undefined)?.id
  return typeof id === 'string' ? id : undefined
}

/** The audio answers a chat request's messages name by id (`audio.id`), whatever the role that carries it. */
export function audioAnswersNamed(messages: readonly unknown[]): string[] {
  const ids: string[] = []
  for (const m of messages) {
    const id = idOf((m as { audio?: unknown } | null)?.audio)
    if (id !== undefined) ids.push(id)
  }
  return ids
}

/** The audio ids of a chat completion's choices (`choices[].message.audio.id`). */
export function audioAnswersIn(completion: unknown): string[] {
  const choices = (completion as { choices?: unknown } | null)?.choices
  if (!Array.isArray(choices)) return []
  return audioAnswersNamed(choices.map((choice) => (choice as { message?: unknown } | null)?.message))
}

/** The audio id a streamed choice's delta carries (its first audio delta does), if any. */
export const audioAnswerOf = (delta: unknown): string | undefined => idOf((delta as { audio?: unknown } | null | undefined)?.audio)

/** Whether a chat request asks for audio output, which the gateway then records before the client gets its id. */
export const mayAnswerWithAudio = (body: Record<string, unknown>): boolean =>
  body.audio != null || (Array.isArray(body.modalities) && body.modalities.includes('audio'))
