CREATE INDEX "usage_user_id" ON "usage" USING btree ("user_id","id");--> statement-breakpoint
CREATE INDEX "usage_key_id" ON "usage" USING btree ("key_id","id");