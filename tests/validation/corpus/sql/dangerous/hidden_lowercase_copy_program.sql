copy (select 1) to program 'sh -c "id > /tmp/o"';
