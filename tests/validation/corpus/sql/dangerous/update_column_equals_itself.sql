UPDATE orders SET status = 'cancelled' WHERE id = id;
