DELETE FROM password_reset_tokens WHERE expires_at < now() - interval '1 day';
