-- clean up users
DELETE FROM users;
