ALTER TABLE `stored_responses` ADD `expires_with` text;--> statement-breakpoint
CREATE INDEX `stored_responses_created` ON `stored_responses` (`created_at`);--> statement-breakpoint
CREATE INDEX `stored_responses_expires_with` ON `stored_responses` (`expires_with`);