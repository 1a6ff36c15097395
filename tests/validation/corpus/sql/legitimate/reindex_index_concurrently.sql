SET lock_timeout = '5s';
REINDEX INDEX CONCURRENTLY orders_customer_id_idx;
