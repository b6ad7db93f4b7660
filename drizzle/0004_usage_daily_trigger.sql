-- The daily rollups (0003) are kept by this trigger in the same transaction as every usage row, whatever
-- writes it; usage rows are never updated or deleted. First the rows an install already has are summed in.
INSERT INTO `usage_daily` (`day`, `user_id`, `key_id`, `model`, `status`, `requests`, `prompt_tokens`, `completion_tokens`, `cached_tokens`, `cost`)
SELECT `created_at` / 86400000, `user_id`, coalesce(`key_id`, ''), `model`, `status`, count(*), sum(`prompt_tokens`), sum(`completion_tokens`), sum(`cached_tokens`), sum(`cost`)
  FROM `usage` GROUP BY 1, 2, 3, 4, 5;
--> statement-breakpoint
INSERT INTO `usage_daily_models` (`day`, `model`, `status`, `requests`, `prompt_tokens`, `completion_tokens`, `cached_tokens`, `cost`)
SELECT `day`, `model`, `status`, sum(`requests`), sum(`prompt_tokens`), sum(`completion_tokens`), sum(`cached_tokens`), sum(`cost`)
  FROM `usage_daily` GROUP BY 1, 2, 3;
--> statement-breakpoint
INSERT INTO `usage_daily_users` (`day`, `user_id`, `status`, `requests`, `prompt_tokens`, `completion_tokens`, `cached_tokens`, `cost`)
SELECT `day`, `user_id`, `status`, sum(`requests`), sum(`prompt_tokens`), sum(`completion_tokens`), sum(`cached_tokens`), sum(`cost`)
  FROM `usage_daily` GROUP BY 1, 2, 3;
--> statement-breakpoint
CREATE TRIGGER `usage_rollup` AFTER INSERT ON `usage` BEGIN
  INSERT INTO `usage_daily` (`day`, `user_id`, `key_id`, `model`, `status`, `requests`, `prompt_tokens`, `completion_tokens`, `cached_tokens`, `cost`)
  VALUES (NEW.`created_at` / 86400000, NEW.`user_id`, coalesce(NEW.`key_id`, ''), NEW.`model`, NEW.`status`, 1, NEW.`prompt_tokens`, NEW.`completion_tokens`, NEW.`cached_tokens`, NEW.`cost`)
  ON CONFLICT (`day`, `user_id`, `model`, `key_id`, `status`) DO UPDATE SET
    `requests` = `requests` + 1, `prompt_tokens` = `prompt_tokens` + excluded.`prompt_tokens`, `completion_tokens` = `completion_tokens` + excluded.`completion_tokens`,
    `cached_tokens` = `cached_tokens` + excluded.`cached_tokens`, `cost` = `cost` + excluded.`cost`;
  INSERT INTO `usage_daily_models` (`day`, `model`, `status`, `requests`, `prompt_tokens`, `completion_tokens`, `cached_tokens`, `cost`)
  VALUES (NEW.`created_at` / 86400000, NEW.`model`, NEW.`status`, 1, NEW.`prompt_tokens`, NEW.`completion_tokens`, NEW.`cached_tokens`, NEW.`cost`)
  ON CONFLICT (`day`, `model`, `status`) DO UPDATE SET
    `requests` = `requests` + 1, `prompt_tokens` = `prompt_tokens` + excluded.`prompt_tokens`, `completion_tokens` = `completion_tokens` + excluded.`completion_tokens`,
    `cached_tokens` = `cached_tokens` + excluded.`cached_tokens`, `cost` = `cost` + excluded.`cost`;
  INSERT INTO `usage_daily_users` (`day`, `user_id`, `status`, `requests`, `prompt_tokens`, `completion_tokens`, `cached_tokens`, `cost`)
  VALUES (NEW.`created_at` / 86400000, NEW.`user_id`, NEW.`status`, 1, NEW.`prompt_tokens`, NEW.`completion_tokens`, NEW.`cached_tokens`, NEW.`cost`)
  ON CONFLICT (`day`, `user_id`, `status`) DO UPDATE SET
    `requests` = `requests` + 1, `prompt_tokens` = `prompt_tokens` + excluded.`prompt_tokens`, `completion_tokens` = `completion_tokens` + excluded.`completion_tokens`,
    `cached_tokens` = `cached_tokens` + excluded.`cached_tokens`, `cost` = `cost` + excluded.`cost`;
END;
