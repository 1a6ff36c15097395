SELECT pg_cancel_backend(pid)
FROM pg_stat_activity
WHERE usename = 'report_user'
  AND state = 'active'
  AND query_start < now() - interval '15 minutes'
  AND pid <> pg_backend_pid();
