ALTER TABLE `users` ADD `last_period_budget` integer;--> statement-breakpoint
UPDATE `users` SET `last_period_budget` = `max_budget` WHERE `last_period_start` IS NOT NULL;