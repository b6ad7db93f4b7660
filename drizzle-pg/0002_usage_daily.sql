CREATE TABLE "usage_daily" (
	"day" integer NOT NULL,
	"user_id" text NOT NULL,
	"key_id" text NOT NULL,
	"model" text NOT NULL,
	"status" text NOT NULL,
	"requests" bigint NOT NULL,
	"prompt_tokens" bigint NOT NULL,
	"completion_tokens" bigint NOT NULL,
	"cached_tokens" bigint NOT NULL,
	"cost" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_daily_models" (
	"day" integer NOT NULL,
	"model" text NOT NULL,
	"status" text NOT NULL,
	"requests" bigint NOT NULL,
	"prompt_tokens" bigint NOT NULL,
	"completion_tokens" bigint NOT NULL,
	"cached_tokens" bigint NOT NULL,
	"cost" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_daily_users" (
	"day" integer NOT NULL,
	"user_id" text NOT NULL,
	"status" text NOT NULL,
	"requests" bigint NOT NULL,
	"prompt_tokens" bigint NOT NULL,
	"completion_tokens" bigint NOT NULL,
	"cached_tokens" bigint NOT NULL,
	"cost" bigint NOT NULL
);
--> statement-breakpoint
DROP INDEX "usage_day_model";--> statement-breakpoint
DROP INDEX "usage_day_user";--> statement-breakpoint
CREATE UNIQUE INDEX "usage_daily_group" ON "usage_daily" USING btree ("day" DESC NULLS LAST,"user_id","model","key_id","status");--> statement-breakpoint
CREATE INDEX "usage_daily_user" ON "usage_daily" USING btree ("user_id","day");--> statement-breakpoint
CREATE INDEX "usage_daily_key" ON "usage_daily" USING btree ("key_id","day");--> statement-breakpoint
CREATE UNIQUE INDEX "usage_daily_models_group" ON "usage_daily_models" USING btree ("day","model","status");--> statement-breakpoint
CREATE UNIQUE INDEX "usage_daily_users_group" ON "usage_daily_users" USING btree ("day","user_id","status");--> statement-breakpoint
CREATE INDEX "usage_daily_users_user" ON "usage_daily_users" USING btree ("user_id","day");--> statement-breakpoint
CREATE INDEX "usage_model" ON "usage" USING btree ("model","id");--> statement-breakpoint
CREATE INDEX "usage_not_ok" ON "usage" USING btree ("status","id") WHERE status <> 'ok';