DELETE FROM sessions WHERE user_id = 42 OR 'a' = 'a';
