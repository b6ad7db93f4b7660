ALTER TABLE `reservations` ADD `held_prompt_tokens` integer;--> statement-breakpoint
ALTER TABLE `reservations` ADD `held_completion_tokens` integer;