DELETE FROM audit_log WHERE 1 = 1;
