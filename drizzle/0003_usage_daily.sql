CREATE TABLE `usage_daily` (
	`day` integer NOT NULL,
	`user_id` text NOT NULL,
	`key_id` text NOT NULL,
	`model` text NOT NULL,
	`status` text NOT NULL,
	`requests` integer NOT NULL,
	`prompt_tokens` integer NOT NULL,
	`completion_tokens` integer NOT NULL,
	`cached_tokens` integer NOT NULL,
	`cost` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `usage_daily_group` ON `usage_daily` ("day" desc,`user_id`,`model`,`key_id`,`status`);--> statement-breakpoint
CREATE INDEX `usage_daily_user` ON `usage_daily` (`user_id`,`day`);--> statement-breakpoint
CREATE INDEX `usage_daily_key` ON `usage_daily` (`key_id`,`day`);--> statement-breakpoint
CREATE TABLE `usage_daily_models` (
	`day` integer NOT NULL,
	`model` text NOT NULL,
	`status` text NOT NULL,
	`requests` integer NOT NULL,
	`prompt_tokens` integer NOT NULL,
	`completion_tokens` integer NOT NULL,
	`cached_tokens` integer NOT NULL,
	`cost` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `usage_daily_models_group` ON `usage_daily_models` (`day`,`model`,`status`);--> statement-breakpoint
CREATE TABLE `usage_daily_users` (
	`day` integer NOT NULL,
	`user_id` text NOT NULL,
	`status` text NOT NULL,
	`requests` integer NOT NULL,
	`prompt_tokens` integer NOT NULL,
	`completion_tokens` integer NOT NULL,
	`cached_tokens` integer NOT NULL,
	`cost` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `usage_daily_users_group` ON `usage_daily_users` (`day`,`user_id`,`status`);--> statement-breakpoint
CREATE INDEX `usage_daily_users_user` ON `usage_daily_users` (`user_id`,`day`);--> statement-breakpoint
DROP INDEX `usage_day_model`;--> statement-breakpoint
DROP INDEX `usage_day_user`;--> statement-breakpoint
CREATE INDEX `usage_model` ON `usage` (`model`,`id`);--> statement-breakpoint
CREATE INDEX `usage_not_ok` ON `usage` (`status`,`id`) WHERE status <> 'ok';