CREATE FUNCTION purge(tbl text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE 'TRUNCATE ' || tbl;
END
$f$;
