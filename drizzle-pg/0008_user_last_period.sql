ALTER TABLE "users" ADD COLUMN "last_period_start" bigint;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "last_period_spend" bigint;