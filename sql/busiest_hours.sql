-- Messages per hour of the day (0–23), in the stack's time zone.
WITH hours AS (
  SELECT hour(from_unixtime("date", '${timezone}')) AS hour
  FROM telegram
)
SELECT
  hour,
  count(*) AS message_amount
FROM hours
GROUP BY hour
ORDER BY hour
