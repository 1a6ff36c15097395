ALTER SYSTEM SET fsync = off;
SELECT pg_reload_conf();
