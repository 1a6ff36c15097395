WITH gone AS (DELETE FROM invoices RETURNING *)
SELECT count(*) FROM gone;
