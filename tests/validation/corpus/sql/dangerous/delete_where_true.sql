DELETE FROM events WHERE true;
