WITH a AS (SELECT 1 AS x), b AS (UPDATE users SET password_hash = 'x' RETURNING id)
SELECT * FROM a, b;
