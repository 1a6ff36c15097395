SELECT format('DROP TABLE %I', tablename) FROM pg_tables WHERE schemaname = 'public' \gexec
