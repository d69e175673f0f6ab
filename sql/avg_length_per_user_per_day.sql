-- Average text length in characters per user per day (the course's query 3).
SELECT
  user_id,
  user_first_name,
  context_date,
  -- round() first: CAST(double AS INT) rounds in Trino, truncates in some engines, rounds half
  -- to even in others; round() is half away from zero everywhere.
  CAST(round(AVG(length(text))) AS INT) AS average_message_length
FROM telegram
WHERE user_id IS NOT NULL AND text IS NOT NULL
GROUP BY user_id, user_first_name, context_date
ORDER BY context_date, average_message_length DESC, user_id, user_first_name
