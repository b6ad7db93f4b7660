/**
 * The stored ids a provider forgets by age (OpenAI and xAI keep a stored response 30 days): responses, the items
 * that go with them, containers (OpenAI's expire once idle for minutes) and chat answers' audio (OpenAI keeps one
 * for hours, till its `expires_at`). A conversation, and the items of its
 * turns, are kept: no provider expires them.
 * Also the predicate of the retention prune's partial index (both schemas): the prune's WHERE repeats it word
 * for word, which is what lets either database's planner use that index.
 */
export const EXPIRING_STORED_IDS = "(kind = 'response' OR kind = 'container' OR kind = 'audio' OR (kind = 'item' AND expires_with IS NOT NULL))"
