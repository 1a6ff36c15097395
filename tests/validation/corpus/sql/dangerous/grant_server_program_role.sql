GRANT pg_execute_server_program TO app;
