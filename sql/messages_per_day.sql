-- Messages per day (the course's query 1).
SELECT
  context_date,
  count(*) AS message_amount
FROM telegram
GROUP BY context_date
ORDER BY context_date
