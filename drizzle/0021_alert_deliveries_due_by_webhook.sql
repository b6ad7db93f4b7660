DROP INDEX `alert_deliveries_due`;--> statement-breakpoint
CREATE INDEX `alert_deliveries_due` ON `alert_deliveries` (`status`,`webhook`,`next_attempt_at`);