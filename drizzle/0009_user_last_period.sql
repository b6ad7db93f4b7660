ALTER TABLE `users` ADD `last_period_start` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `last_period_spend` integer;