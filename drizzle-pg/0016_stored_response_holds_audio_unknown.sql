ALTER TABLE "stored_responses" ALTER COLUMN "holds_audio" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "stored_responses" ALTER COLUMN "holds_audio" DROP NOT NULL;--> statement-breakpoint
-- 0012 gave every row recorded before it false ("no audio"), which the version that wrote them never judged: a
-- context it stored with audio in it was held at the text rate on every later turn. No column tells those rows
-- from the ones written since, so every false becomes null (unknown): held as audio input on a model that prices
-- audio input, an over-hold at worst, never an under-hold. Rows recorded from now on say true or false; with no
-- default, a row written by a version that does not know the column (an old replica in a rolling deploy) is unknown.
UPDATE "stored_responses" SET "holds_audio" = NULL WHERE "holds_audio" = false;