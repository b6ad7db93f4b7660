ALTER TABLE `prices` ADD `cache_write_per_million` integer;--> statement-breakpoint
ALTER TABLE `prices` ADD `cache_write_1h_per_million` integer;--> statement-breakpoint
ALTER TABLE `prices` ADD `audio_input_per_million` integer;--> statement-breakpoint
ALTER TABLE `prices` ADD `audio_output_per_million` integer;--> statement-breakpoint
ALTER TABLE `prices` ADD `server_tools` text;--> statement-breakpoint
ALTER TABLE `prices` ADD `service_tiers` text;