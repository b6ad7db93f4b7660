CREATE INDEX `usage_user_id` ON `usage` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `usage_key_id` ON `usage` (`key_id`,`id`);