SELECT set_config('session_replication_role', 'replica', false);
UPDATE accounts SET frozen = false WHERE id = 3;
