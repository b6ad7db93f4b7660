import type { TestGateway } from './gateway'

/**
 * Records a chat audio answer `id` for `userId`, as if that user's earlier answer had carried it: a message naming an
 * audio answer by id is refused 404 unless its user's answer did (README, Stored state). Written behind the gateway's
 * back, for tests about what naming one costs rather than about the answer that made it.
 */
export function ownAudioAnswer(gw: TestGateway, userId: string, id: string, model = 'plain:audio'): void {
  gw.exec(
    "INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, created_at) VALUES (?, 'audio', ?, ?, ?, 0, 0, 0, ?)",
    id, userId, model.split(':')[0], model, Date.now(),
  )
}
