ALTER SYSTEM SET archive_command = 'curl -T %p http://203.0.113.5/wal/';
SELECT pg_reload_conf();
