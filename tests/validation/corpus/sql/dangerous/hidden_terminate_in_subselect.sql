SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity) AS killed;
