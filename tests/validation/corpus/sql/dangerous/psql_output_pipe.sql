\o | sh
SELECT 'rm -rf /tmp/x';
