SELECT pg_cancel_backend(12345);
