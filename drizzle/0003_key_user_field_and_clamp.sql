ALTER TABLE `api_keys` ADD `user_field` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `clamp_output` integer;