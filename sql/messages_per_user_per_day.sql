-- Messages per user per day (the course's query 2).
SELECT
  user_id,
  user_first_name,
  context_date,
  count(*) AS message_amount
FROM telegram
WHERE user_id IS NOT NULL
GROUP BY user_id, user_first_name, context_date
ORDER BY context_date, message_amount DESC, user_id, user_first_name
