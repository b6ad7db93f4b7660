-- Rows rolled before 0013 added last_period_budget get the budget in force, so that the period just ended at the
-- upgrade is judged as the previous version judged it. 4e2cf26 appended this to 0013 itself, which a database that
-- had recorded 0013 never runs again: it is a migration of its own. A database that ran that edited 0013 records
-- this one without running it (src/db/superseded-migrations.ts); a row rolled since 0013 keeps its budget here.
UPDATE "users" SET "last_period_budget" = "max_budget" WHERE "last_period_start" IS NOT NULL AND "last_period_budget" IS NULL;
