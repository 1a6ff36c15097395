WITH recent AS (
  SELECT customer_id, count(*) AS n FROM orders WHERE created_at > now() - interval '1 day' GROUP BY 1
)
SELECT * FROM recent ORDER BY n DESC LIMIT 20;
