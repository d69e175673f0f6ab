-- Messages by type (text, photo, sticker, …).
SELECT
  message_type,
  count(*) AS message_amount
FROM telegram
GROUP BY message_type
ORDER BY message_amount DESC, message_type
