BEGIN;
UPDATE jobs SET status = 'failed'
WHERE status = 'running' AND heartbeat < now() - interval '1 hour';
COMMIT;
