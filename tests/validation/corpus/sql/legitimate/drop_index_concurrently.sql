SET lock_timeout = '5s';
DROP INDEX CONCURRENTLY IF EXISTS idx_orders_unused;
