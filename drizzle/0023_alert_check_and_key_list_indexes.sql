DROP INDEX `api_keys_user`;--> statement-breakpoint
CREATE INDEX `api_keys_user_id` ON `api_keys` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `api_keys_expiring` ON `api_keys` (`expires_at`) WHERE revoked_at IS NULL AND expires_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `users_period` ON `users` (`budget_period`,`period_start`,`id`);