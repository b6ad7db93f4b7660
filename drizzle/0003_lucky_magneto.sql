CREATE INDEX `usage_day_model` ON `usage` (created_at / 86400000,`model`,`cost`);--> statement-breakpoint
CREATE INDEX `usage_day_user` ON `usage` (created_at / 86400000,`user_id`,`cost`);