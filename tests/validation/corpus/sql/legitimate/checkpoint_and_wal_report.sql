CHECKPOINT;
SELECT pg_size_pretty(sum(size)) FROM pg_ls_waldir();
