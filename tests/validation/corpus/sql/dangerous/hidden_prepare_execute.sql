PREPARE wipe AS DELETE FROM customers;
EXECUTE wipe;
