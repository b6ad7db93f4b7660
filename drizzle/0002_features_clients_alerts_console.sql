CREATE TABLE `alert_deliveries` (
	`alert_id` text NOT NULL,
	`webhook` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_error` text,
	`delivered_at` integer,
	PRIMARY KEY(`alert_id`, `webhook`),
	FOREIGN KEY (`alert_id`) REFERENCES `alerts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `alert_deliveries_due` ON `alert_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`dedupe_key` text NOT NULL,
	`kind` text NOT NULL,
	`subject` text,
	`payload` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alerts_dedupe` ON `alerts` (`dedupe_key`);--> statement-breakpoint
CREATE INDEX `alerts_time` ON `alerts` (`created_at`);--> statement-breakpoint
CREATE TABLE `console_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`key_id` text,
	`key_hash` text,
	`created_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`key_id`) REFERENCES `api_keys`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `console_sessions_key` ON `console_sessions` (`key_id`);--> statement-breakpoint
CREATE TABLE `refusal_counts` (
	`hour` integer NOT NULL,
	`code` text NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`hour`, `code`)
);
--> statement-breakpoint
CREATE TABLE `stored_responses` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`user_id` text NOT NULL,
	`provider` text NOT NULL,
	`model` text NOT NULL,
	`context_tokens` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `stored_responses_user` ON `stored_responses` (`user_id`);--> statement-breakpoint
CREATE TABLE `unpriced_models` (
	`model` text PRIMARY KEY NOT NULL,
	`requests` integer NOT NULL,
	`first_seen_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `api_keys` ADD `user_field` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `clamp_output` integer;--> statement-breakpoint
ALTER TABLE `api_request_log` ADD `count` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `api_request_log` ADD `last_at` integer;--> statement-breakpoint
ALTER TABLE `prices` ADD `cache_write_per_million` integer;--> statement-breakpoint
ALTER TABLE `prices` ADD `cache_write_1h_per_million` integer;--> statement-breakpoint
ALTER TABLE `prices` ADD `audio_input_per_million` integer;--> statement-breakpoint
ALTER TABLE `prices` ADD `audio_output_per_million` integer;--> statement-breakpoint
ALTER TABLE `prices` ADD `server_tools` text;--> statement-breakpoint
ALTER TABLE `prices` ADD `service_tiers` text;--> statement-breakpoint
ALTER TABLE `prices` ADD `source` text;--> statement-breakpoint
CREATE INDEX `usage_day_model` ON `usage` (created_at / 86400000,`model`,`cost`);--> statement-breakpoint
CREATE INDEX `usage_day_user` ON `usage` (created_at / 86400000,`user_id`,`cost`);