ALTER ROLE report_user SET statement_timeout = '5min';
