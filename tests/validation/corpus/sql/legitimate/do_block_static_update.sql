DO $$
BEGIN
  UPDATE feature_flags SET enabled = false WHERE name = 'new_checkout';
  RAISE NOTICE 'flag disabled';
END
$$;
