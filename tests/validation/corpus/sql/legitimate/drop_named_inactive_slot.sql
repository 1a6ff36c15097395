SELECT slot_name, active FROM pg_replication_slots WHERE slot_name = 'old_etl_slot';
SELECT pg_drop_replication_slot('old_etl_slot');
