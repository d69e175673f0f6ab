-- Messages per chat, with the chat's latest title and type, and its first and last day.
WITH latest AS (
  SELECT
    chat_id,
    chat_title,
    chat_type,
    context_date,
    row_number() OVER (PARTITION BY chat_id ORDER BY "date" DESC, message_id DESC) AS position
  FROM telegram
)
SELECT
  chat_id,
  max(chat_title) FILTER (WHERE position = 1) AS chat_title,
  max(chat_type) FILTER (WHERE position = 1) AS chat_type,
  count(*) AS message_amount,
  min(context_date) AS first_day,
  max(context_date) AS last_day
FROM latest
GROUP BY chat_id
ORDER BY message_amount DESC, chat_id
