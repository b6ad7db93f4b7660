ALTER TABLE "users" ADD COLUMN "last_period_budget" bigint;--> statement-breakpoint
UPDATE "users" SET "last_period_budget" = "max_budget" WHERE "last_period_start" IS NOT NULL;