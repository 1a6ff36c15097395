SET lock_timeout = '5s';
ALTER TABLE orders ALTER COLUMN priority SET DEFAULT 0;
