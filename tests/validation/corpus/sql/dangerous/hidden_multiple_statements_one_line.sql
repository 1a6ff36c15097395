SELECT now(); SELECT count(*) FROM orders; TRUNCATE "audit"; SELECT 1;
