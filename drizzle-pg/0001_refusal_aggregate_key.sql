ALTER TABLE "api_request_log" ADD COLUMN "aggregate_key" text;--> statement-breakpoint
CREATE UNIQUE INDEX "api_request_log_aggregate" ON "api_request_log" USING btree ("aggregate_key");