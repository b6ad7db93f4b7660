CREATE TABLE "pending_settlements" (
	"hold_id" bigint PRIMARY KEY NOT NULL,
	"settlement" text NOT NULL,
	"created_at" bigint NOT NULL
);
