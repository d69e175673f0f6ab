-- Messages sent by bots and by people (channel posts, which have no sender, are left out).
SELECT
  user_is_bot,
  count(*) AS message_amount
FROM telegram
WHERE user_id IS NOT NULL
GROUP BY user_is_bot
ORDER BY user_is_bot
