-- Each user's share of all messages sent by users (0–1; channel posts are left out).
SELECT
  user_id,
  max(user_first_name) AS user_first_name,
  count(*) AS message_amount,
  round(CAST(count(*) AS DOUBLE) / sum(count(*)) OVER (), 4) AS share
FROM telegram
WHERE user_id IS NOT NULL
GROUP BY user_id
ORDER BY message_amount DESC, user_id
