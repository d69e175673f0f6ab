-- Median time to reply in seconds, per user: from a message to a reply to it in the same chat.
WITH replies AS (
  SELECT
    r.user_id,
    r.user_first_name,
    r."date" - o."date" AS seconds
  FROM telegram r
  JOIN telegram o
    ON o.chat_id = r.chat_id AND o.message_id = r.reply_to_message_id
  WHERE r.user_id IS NOT NULL
),
ranked AS (
  SELECT
    user_id,
    user_first_name,
    seconds,
    row_number() OVER (PARTITION BY user_id ORDER BY seconds) AS position,
    count(*) OVER (PARTITION BY user_id) AS replies
  FROM replies
)
-- The median is the middle value, or the mean of the two middle ones: exact on every engine.
SELECT
  user_id,
  max(user_first_name) AS user_first_name,
  max(replies) AS replies,
  avg(CAST(seconds AS DOUBLE)) FILTER (WHERE 2 * position BETWEEN replies AND replies + 2) AS median_reply_seconds
FROM ranked
GROUP BY user_id
ORDER BY replies DESC, user_id
