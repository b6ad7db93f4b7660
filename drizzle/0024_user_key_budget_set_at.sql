ALTER TABLE `api_keys` ADD `budget_set_at` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `budget_set_at` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `last_period_budget_set_at` integer;