-- The daily rollups (0001) are kept by a statement trigger in the same transaction as every usage row,
-- whatever writes it; usage rows are never updated or deleted. One statement (a settlement batch, a sweep,
-- a chunk of `tollgate migrate`) sums its rows per group first and upserts each group once, in the groups'
-- order, so concurrent batches lock shared rollup rows in one order and never deadlock on them.
-- First the rows an install already has are summed in.
INSERT INTO "usage_daily" ("day", "user_id", "key_id", "model", "status", "requests", "prompt_tokens", "completion_tokens", "cached_tokens", "cost")
SELECT ("created_at" / 86400000)::int, "user_id", coalesce("key_id", ''), "model", "status", count(*), sum("prompt_tokens"), sum("completion_tokens"), sum("cached_tokens"), sum("cost")
  FROM "usage" GROUP BY 1, 2, 3, 4, 5;
--> statement-breakpoint
INSERT INTO "usage_daily_models" ("day", "model", "status", "requests", "prompt_tokens", "completion_tokens", "cached_tokens", "cost")
SELECT "day", "model", "status", sum("requests"), sum("prompt_tokens"), sum("completion_tokens"), sum("cached_tokens"), sum("cost")
  FROM "usage_daily" GROUP BY 1, 2, 3;
--> statement-breakpoint
INSERT INTO "usage_daily_users" ("day", "user_id", "status", "requests", "prompt_tokens", "completion_tokens", "cached_tokens", "cost")
SELECT "day", "user_id", "status", sum("requests"), sum("prompt_tokens"), sum("completion_tokens"), sum("cached_tokens"), sum("cost")
  FROM "usage_daily" GROUP BY 1, 2, 3;
--> statement-breakpoint
CREATE FUNCTION "usage_rollup"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "usage_daily" AS r ("day", "user_id", "key_id", "model", "status", "requests", "prompt_tokens", "completion_tokens", "cached_tokens", "cost")
  SELECT ("created_at" / 86400000)::int, "user_id", coalesce("key_id", ''), "model", "status", count(*), sum("prompt_tokens"), sum("completion_tokens"), sum("cached_tokens"), sum("cost")
    FROM new_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 1 DESC, 2, 4, 3, 5
  ON CONFLICT ("day", "user_id", "model", "key_id", "status") DO UPDATE SET
    "requests" = r."requests" + excluded."requests", "prompt_tokens" = r."prompt_tokens" + excluded."prompt_tokens",
    "completion_tokens" = r."completion_tokens" + excluded."completion_tokens", "cached_tokens" = r."cached_tokens" + excluded."cached_tokens",
    "cost" = r."cost" + excluded."cost";
  INSERT INTO "usage_daily_models" AS r ("day", "model", "status", "requests", "prompt_tokens", "completion_tokens", "cached_tokens", "cost")
  SELECT ("created_at" / 86400000)::int, "model", "status", count(*), sum("prompt_tokens"), sum("completion_tokens"), sum("cached_tokens"), sum("cost")
    FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT ("day", "model", "status") DO UPDATE SET
    "requests" = r."requests" + excluded."requests", "prompt_tokens" = r."prompt_tokens" + excluded."prompt_tokens",
    "completion_tokens" = r."completion_tokens" + excluded."completion_tokens", "cached_tokens" = r."cached_tokens" + excluded."cached_tokens",
    "cost" = r."cost" + excluded."cost";
  INSERT INTO "usage_daily_users" AS r ("day", "user_id", "status", "requests", "prompt_tokens", "completion_tokens", "cached_tokens", "cost")
  SELECT ("created_at" / 86400000)::int, "user_id", "status", count(*), sum("prompt_tokens"), sum("completion_tokens"), sum("cached_tokens"), sum("cost")
    FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT ("day", "user_id", "status") DO UPDATE SET
    "requests" = r."requests" + excluded."requests", "prompt_tokens" = r."prompt_tokens" + excluded."prompt_tokens",
    "completion_tokens" = r."completion_tokens" + excluded."completion_tokens", "cached_tokens" = r."cached_tokens" + excluded."cached_tokens",
    "cost" = r."cost" + excluded."cost";
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "usage_rollup" AFTER INSERT ON "usage" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "usage_rollup"();
