\set ON_ERROR_STOP on
\! rm -rf /var/lib/postgresql/15/main
SELECT 1;
