CREATE TABLE "stored_response_growth" (
	"id" text PRIMARY KEY NOT NULL,
	"conversation_id" text NOT NULL,
	"user_id" text NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"context_tokens" bigint,
	"media_parts" integer,
	"context_bytes" bigint,
	"holds_audio" boolean,
	"grow_tokens" bigint NOT NULL,
	"grow_media_parts" integer NOT NULL,
	"grow_bytes" bigint NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "stored_response_growth" ADD CONSTRAINT "stored_response_growth_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "stored_response_growth_conversation" ON "stored_response_growth" USING btree ("conversation_id");