SELECT dblink_exec('host=10.0.0.9 dbname=prod', 'DROP TABLE customers');
