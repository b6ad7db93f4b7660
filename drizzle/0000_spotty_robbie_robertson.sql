CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`name` text,
	`key_hash` text NOT NULL,
	`key_prefix` text NOT NULL,
	`expires_at` integer,
	`revoked_at` integer,
	`allowed_models` text,
	`max_budget` integer,
	`spend` integer DEFAULT 0 NOT NULL,
	`reserved` integer DEFAULT 0 NOT NULL,
	`rpm_limit` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_user` ON `api_keys` (`user_id`);--> statement-breakpoint
CREATE TABLE `api_request_log` (
	`id` integer PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL,
	`request_id` text NOT NULL,
	`method` text NOT NULL,
	`route` text NOT NULL,
	`status` integer NOT NULL,
	`latency_ms` integer NOT NULL,
	`client_ip` text,
	`key_id` text,
	`user_id` text
);
--> statement-breakpoint
CREATE INDEX `api_request_log_time` ON `api_request_log` (`created_at`);--> statement-breakpoint
CREATE INDEX `api_request_log_key` ON `api_request_log` (`key_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `prices` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`model` text NOT NULL,
	`input_per_million` integer NOT NULL,
	`output_per_million` integer NOT NULL,
	`cached_input_per_million` integer,
	`per_request` integer,
	`created_at` integer NOT NULL,
	`deleted_at` integer
);
--> statement-breakpoint
CREATE INDEX `prices_model` ON `prices` (`model`,`created_at`);--> statement-breakpoint
CREATE TABLE `reservations` (
	`id` integer PRIMARY KEY NOT NULL,
	`request_id` text NOT NULL,
	`user_id` text NOT NULL,
	`key_id` text,
	`amount` integer NOT NULL,
	`model` text NOT NULL,
	`provider` text NOT NULL,
	`endpoint` text NOT NULL,
	`price_id` integer,
	`stream` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `usage` (
	`id` integer PRIMARY KEY NOT NULL,
	`request_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`user_id` text NOT NULL,
	`key_id` text,
	`model` text NOT NULL,
	`provider` text NOT NULL,
	`endpoint` text NOT NULL,
	`prompt_tokens` integer DEFAULT 0 NOT NULL,
	`completion_tokens` integer DEFAULT 0 NOT NULL,
	`cached_tokens` integer DEFAULT 0 NOT NULL,
	`cost` integer NOT NULL,
	`reserved` integer NOT NULL,
	`price_id` integer,
	`status` text NOT NULL,
	`latency_ms` integer DEFAULT 0 NOT NULL,
	`stream` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE INDEX `usage_user_time` ON `usage` (`user_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `usage_time` ON `usage` (`created_at`);--> statement-breakpoint
CREATE INDEX `usage_key_time` ON `usage` (`key_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`alias` text,
	`max_budget` integer,
	`budget_period` text,
	`spend` integer DEFAULT 0 NOT NULL,
	`reserved` integer DEFAULT 0 NOT NULL,
	`period_start` integer NOT NULL,
	`blocked` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
