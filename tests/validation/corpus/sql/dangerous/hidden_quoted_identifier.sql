DELETE FROM "Users" -- looks like a comment WHERE id = 1
;
