-- Messages by ISO week, weekday (1 = Monday … 7 = Sunday) and hour, in the stack's time zone (the course's query 4).
WITH parsed AS (
  SELECT from_unixtime("date", '${timezone}') AS sent_at
  FROM telegram
),
parts AS (
  SELECT
    year_of_week(sent_at) AS parsed_date_year,
    week(sent_at) AS parsed_date_weeknum,
    day_of_week(sent_at) AS parsed_date_weekday,
    hour(sent_at) AS parsed_date_hour
  FROM parsed
)
SELECT
  parsed_date_year,
  parsed_date_weeknum,
  parsed_date_weekday,
  parsed_date_hour,
  count(*) AS message_amount
FROM parts
GROUP BY parsed_date_year, parsed_date_weeknum, parsed_date_weekday, parsed_date_hour
ORDER BY parsed_date_year, parsed_date_weeknum, parsed_date_weekday, parsed_date_hour
