VACUUM (ANALYZE, VERBOSE) public.orders;
