DROP INDEX "api_keys_user";--> statement-breakpoint
CREATE INDEX "api_keys_user_id" ON "api_keys" USING btree ("user_id","id");--> statement-breakpoint
CREATE INDEX "api_keys_expiring" ON "api_keys" USING btree ("expires_at") WHERE revoked_at IS NULL AND expires_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX "users_period" ON "users" USING btree ("budget_period","period_start","id");