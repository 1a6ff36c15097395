DELETE FROM sessions
WHERE id IN (
  SELECT id FROM sessions
  WHERE created_at < now() - interval '30 days'
  LIMIT 10000
);
