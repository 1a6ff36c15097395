ALTER TABLE users ADD COLUMN tenant_id int NOT NULL;
