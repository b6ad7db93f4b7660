ALTER TABLE "api_keys" ADD COLUMN "budget_set_at" bigint;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "budget_set_at" bigint;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "last_period_budget_set_at" bigint;