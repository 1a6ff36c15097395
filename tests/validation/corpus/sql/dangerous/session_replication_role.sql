SET session_replication_role = replica;
DELETE FROM parents WHERE id = 7;
