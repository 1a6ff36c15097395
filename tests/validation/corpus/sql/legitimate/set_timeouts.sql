SET lock_timeout = '2s';
SET statement_timeout = '60s';
SET idle_in_transaction_session_timeout = '5min';
