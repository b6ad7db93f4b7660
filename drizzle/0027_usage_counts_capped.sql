-- Versions before 77360a0 recorded a provider's token count as it came (5e18; 1e19 as a REAL), and the rollups
-- summed them: two such rows make a rollup row whose sum() overflows, and the summary answered 500. Each count is
-- read as today's gateway reads it, at most a billion; the rollup rows of the groups that held one are summed again.
CREATE TEMP TABLE `enormous_usage_groups` AS
SELECT DISTINCT `created_at` / 86400000 AS `day`, `user_id`, coalesce(`key_id`, '') AS `key_id`, `model`, `status` FROM `usage`
 WHERE `prompt_tokens` > 1000000000 OR `completion_tokens` > 1000000000 OR `cached_tokens` > 1000000000 OR `cache_write_tokens` > 1000000000;
--> statement-breakpoint
UPDATE `usage` SET `prompt_tokens` = min(`prompt_tokens`, 1000000000), `completion_tokens` = min(`completion_tokens`, 1000000000),
       `cached_tokens` = min(`cached_tokens`, 1000000000), `cache_write_tokens` = min(`cache_write_tokens`, 1000000000)
 WHERE `prompt_tokens` > 1000000000 OR `completion_tokens` > 1000000000 OR `cached_tokens` > 1000000000 OR `cache_write_tokens` > 1000000000;
--> statement-breakpoint
UPDATE `usage_daily` SET `prompt_tokens` = s.`prompt_tokens`, `completion_tokens` = s.`completion_tokens`, `cached_tokens` = s.`cached_tokens`
  FROM (SELECT g.`day`, g.`user_id`, g.`key_id`, g.`model`, g.`status`,
               sum(u.`prompt_tokens`) AS `prompt_tokens`, sum(u.`completion_tokens`) AS `completion_tokens`, sum(u.`cached_tokens`) AS `cached_tokens`
          FROM `enormous_usage_groups` g
          JOIN `usage` u ON u.`user_id` = g.`user_id` AND u.`created_at` >= g.`day` * 86400000 AND u.`created_at` < (g.`day` + 1) * 86400000
                        AND coalesce(u.`key_id`, '') = g.`key_id` AND u.`model` = g.`model` AND u.`status` = g.`status`
         GROUP BY 1, 2, 3, 4, 5) AS s
 WHERE `usage_daily`.`day` = s.`day` AND `usage_daily`.`user_id` = s.`user_id` AND `usage_daily`.`key_id` = s.`key_id`
   AND `usage_daily`.`model` = s.`model` AND `usage_daily`.`status` = s.`status`;
--> statement-breakpoint
UPDATE `usage_daily_models` SET `prompt_tokens` = s.`prompt_tokens`, `completion_tokens` = s.`completion_tokens`, `cached_tokens` = s.`cached_tokens`
  FROM (SELECT d.`day`, d.`model`, d.`status`,
               sum(d.`prompt_tokens`) AS `prompt_tokens`, sum(d.`completion_tokens`) AS `completion_tokens`, sum(d.`cached_tokens`) AS `cached_tokens`
          FROM (SELECT DISTINCT `day`, `model`, `status` FROM `enormous_usage_groups`) g
          JOIN `usage_daily` d ON d.`day` = g.`day` AND d.`model` = g.`model` AND d.`status` = g.`status`
         GROUP BY 1, 2, 3) AS s
 WHERE `usage_daily_models`.`day` = s.`day` AND `usage_daily_models`.`model` = s.`model` AND `usage_daily_models`.`status` = s.`status`;
--> statement-breakpoint
UPDATE `usage_daily_users` SET `prompt_tokens` = s.`prompt_tokens`, `completion_tokens` = s.`completion_tokens`, `cached_tokens` = s.`cached_tokens`
  FROM (SELECT d.`day`, d.`user_id`, d.`status`,
               sum(d.`prompt_tokens`) AS `prompt_tokens`, sum(d.`completion_tokens`) AS `completion_tokens`, sum(d.`cached_tokens`) AS `cached_tokens`
          FROM (SELECT DISTINCT `day`, `user_id`, `status` FROM `enormous_usage_groups`) g
          JOIN `usage_daily` d ON d.`day` = g.`day` AND d.`user_id` = g.`user_id` AND d.`status` = g.`status`
         GROUP BY 1, 2, 3) AS s
 WHERE `usage_daily_users`.`day` = s.`day` AND `usage_daily_users`.`user_id` = s.`user_id` AND `usage_daily_users`.`status` = s.`status`;
--> statement-breakpoint
DROP TABLE `enormous_usage_groups`;
