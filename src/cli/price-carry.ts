/**
 * What a client that offers only some fields of a price row (`tollgate prices set`, the console's price form)
 * keeps from the row in force when it writes a new one. `POST /v1/pricing` writes a whole row, so a field left
 * out is unset: without this, a new input price would drop the row's audio rates, server tools, service tiers,
 * where long context starts and a media part's bound (refusing what was served, or billing it for less).
 * Shared by the CLI and the console (bundled from here into `ui/`): plain TypeScript, no runtime imports.
 */

/** The row's own metadata, never another row's: which row, for what model, when, from where. */
const ROW_METADATA = new Set(['id', 'model', 'created_at', 'effective_from', 'effective_until', 'deleted_at', 'source'])

/**
 * The fields of `inForce` (as `GET /v1/pricing/{model}` shows it; null when the model has none) that a new row
 * keeps: every one but the row's metadata and those the client `offers` (which it sets, or leaves unset).
 * Not a fixed list, so a field price rows gain later is kept with no edit here. Unset fields (null, no server
 * tools, no service tiers) are left out, so what is returned is what is kept.
 */
export function carriedPriceFields(inForce: Record<string, unknown> | null, offers: readonly string[]): Record<string, unknown> {
  const kept: Record<string, unknown> = {}
  for (const [field, value] of Object.entries(inForce ?? {})) {
    if (ROW_METADATA.has(field) || offers.includes(field) || value === null || value === undefined) continue
    if (typeof value === 'object' && Object.keys(value).length === 0) continue
    kept[field] = value
  }
  return kept
}

/** The kept fields for the operator to read: `field value` (a map as `name value, …`), one per line. */
export function keptFieldsText(kept: Record<string, unknown>): string[] {
  return Object.entries(kept).map(([field, value]) =>
    typeof value === 'object' && value !== null
      ? `${field}: ${Object.entries(value).map(([name, v]) => `${name} ${v}`).join(', ')}`
      : `${field}: ${value}`,
  )
}

/**
 * What a new row built from `inForce` says it was based on (`based_on`): the row's id, or null for a model with none.
 * The gateway refuses it (409 price_changed) if another row is in force by the time it is written.
 */
export const basedOn = (inForce: Record<string, unknown> | null): number | null => (typeof inForce?.id === 'number' ? inForce.id : null)
