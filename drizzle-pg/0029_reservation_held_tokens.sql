ALTER TABLE "reservations" ADD COLUMN "held_prompt_tokens" bigint;--> statement-breakpoint
ALTER TABLE "reservations" ADD COLUMN "held_completion_tokens" bigint;