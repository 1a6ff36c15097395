\set ON_ERROR_STOP on
\timing on
\echo 'checking bloat'
SELECT relname, n_dead_tup FROM pg_stat_user_tables ORDER BY n_dead_tup DESC LIMIT 10;
