ALTER USER postgres PASSWORD 'changeme';
