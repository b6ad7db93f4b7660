DROP INDEX "alert_deliveries_due";--> statement-breakpoint
CREATE INDEX "alert_deliveries_due" ON "alert_deliveries" USING btree ("status","webhook","next_attempt_at");