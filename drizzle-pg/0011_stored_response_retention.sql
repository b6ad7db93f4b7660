ALTER TABLE "stored_responses" ADD COLUMN "expires_with" text;--> statement-breakpoint
CREATE INDEX "stored_responses_created" ON "stored_responses" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "stored_responses_expires_with" ON "stored_responses" USING btree ("expires_with");