PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_stored_responses` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`user_id` text NOT NULL,
	`provider` text NOT NULL,
	`model` text NOT NULL,
	`context_tokens` integer,
	`media_parts` integer,
	`context_bytes` integer,
	`holds_audio` integer,
	`created_at` integer NOT NULL,
	`expires_with` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `__new_stored_responses`("id", "kind", "user_id", "provider", "model", "context_tokens", "media_parts", "context_bytes", "holds_audio", "created_at", "expires_with") SELECT "id", "kind", "user_id", "provider", "model", "context_tokens", "media_parts", "context_bytes", "holds_audio", "created_at", "expires_with" FROM `stored_responses`;--> statement-breakpoint
DROP TABLE `stored_responses`;--> statement-breakpoint
ALTER TABLE `__new_stored_responses` RENAME TO `stored_responses`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `stored_responses_user` ON `stored_responses` (`user_id`);--> statement-breakpoint
CREATE INDEX `stored_responses_created` ON `stored_responses` (`created_at`);--> statement-breakpoint
CREATE INDEX `stored_responses_expires_with` ON `stored_responses` (`expires_with`);--> statement-breakpoint
-- 0013 gave every row recorded before it false ("no audio"), which the version that wrote them never judged: a
-- context it stored with audio in it was held at the text rate on every later turn. No column tells those rows
-- from the ones written since, so every false becomes null (unknown): held as audio input on a model that prices
-- audio input, an over-hold at worst, never an under-hold. Rows recorded from now on say true or false; with no
-- default, a row written by a version that does not know the column (an old replica in a rolling deploy) is unknown.
UPDATE `stored_responses` SET `holds_audio` = NULL WHERE `holds_audio` = false;