SELECT 1; DROP/**/TABLE/* harmless */customers;
