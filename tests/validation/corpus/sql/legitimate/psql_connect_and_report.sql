\connect app
SELECT count(*) FROM pg_stat_activity WHERE datname = 'app';
