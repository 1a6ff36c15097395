ANALYZE public.orders;
