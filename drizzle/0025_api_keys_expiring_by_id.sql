DROP INDEX `api_keys_expiring`;--> statement-breakpoint
CREATE INDEX `api_keys_expiring` ON `api_keys` (`expires_at`,`id`) WHERE revoked_at IS NULL AND expires_at IS NOT NULL;