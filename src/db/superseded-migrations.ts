/**
 * Migrations some databases recorded under a text since replaced: a shipped migration edited in place. Drizzle's
 * migrator never runs a recorded migration again, so an edit reaches only the databases that had not recorded it;
 * the edit is undone (the shipped text restored) and what it added made a migration of its own. Each superseded
 * text, by the hash `__drizzle_migrations` records (the SHA-256 of the file), stands for the migrations it is now
 * split into, by theirs: a database that recorded it ran them all. test/shipped-migrations.test.ts keeps a shipped
 * migration from being edited again.
 */
export const SUPERSEDED_MIGRATIONS: ReadonlyMap<string, readonly string[]> = new Map([
  // drizzle/0014_user_last_period_budget.sql with the fill 4e2cf26 appended: 0014 as 4c90961 shipped it, and 0016
  // (0016_user_last_period_budget_filled; 0015_alert_dedupe_until came between them, and runs).
  [
    '032468739c1e8d346bb81d8b85992251958e3692b2dc76114ca1946f684ae03c',
    ['3fcae8b9d33719a7ced9c14547e71bf2237c12017365e537aaa6f16721bcde3a', '0724540696bf1f1ae2352496f6d14e90d1729acd0293a909316ba8e250b5b602'],
  ],
  // drizzle-pg/0013_user_last_period_budget.sql likewise: 0013 as 4c90961 shipped it, and 0015
  // (0015_user_last_period_budget_filled; 0014_alert_dedupe_until came between them, and runs).
  [
    'b08e6d3ad50ff1575d350f083c2add7640d1848f9e0216c0bfd7794625259b68',
    ['de4d768f4bf35babe4afce019744750a4e9fa2ab44c3d0e3f0f92e40ab72706d', '8528d9b5b6471726ec3afa1b7b0c721aed2c874146377dc074ad9b15c75c8340'],
  ],
])

/** The hash a recorded migration counts as: the migration its text was edited from, for a superseded text. */
export const currentHash = (recorded: string): string => SUPERSEDED_MIGRATIONS.get(recorded)?.[0] ?? recorded
