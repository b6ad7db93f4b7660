ALTER TABLE `api_request_log` ADD `count` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `api_request_log` ADD `last_at` integer;