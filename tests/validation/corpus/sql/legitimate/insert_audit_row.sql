INSERT INTO remediation_audit (action, created_at) VALUES ('vacuum orders', now());
