"""Which filesystem paths a remediation must not delete, chmod or overwrite."""

from __future__ import annotations

import posixpath

#: Trees whose contents belong to the OS, the boot chain or a database server.
SYSTEM_TREES = (
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/boot",
    "/dev",
    "/proc",
    "/sys",
    "/root",
    "/var/lib/postgresql",
    "/var/lib/pgsql",
    "/var/lib/mysql",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/kubelet",
    "/var/lib/etcd",
    "/var/lib/dpkg",
    "/var/lib/rpm",
    "/var/lib/apt",
    "/var/spool/cron",
    "/var/log/audit",
    "/var/lib/redis",
    "/var/lib/mongodb",
)
#: Directories that are fine to work under but never to remove as a whole.
TOP_LEVEL = frozenset(
    {"/", "/home", "/var", "/var/lib", "/var/log", "/opt", "/srv", "/mnt", "/media", "/tmp", "/var/tmp", "/run",
     "/var/cache", "/data", "/var/spool", "/var/www", "/snap", "/nix"}
)  # fmt: skip
#: Files whose modification grants access or persistence (written to = critical).
SENSITIVE_FILES = (
    "/etc/sudoers",
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/ld.so.preload",
    "/etc/crontab",
    "/etc/cron.",
    "/etc/profile",
    "/etc/bash.bashrc",
    "/etc/ssh/",
    "/etc/pam.d/",
    "/etc/security/",
    "/etc/systemd/system/",
    "/etc/rc.local",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/environment",
    "/etc/selinux/",
    "/root/",
)
SENSITIVE_NAMES = ("authorized_keys", "sudoers", "ld.so.preload", ".bashrc", ".bash_profile", ".profile", ".zshrc")
#: Files that hold credentials: reading them in a remediation is suspect, sending them anywhere critical.
SECRET_MARKERS = (
    "/etc/shadow",
    "/etc/gshadow",
    "/.ssh/id_",
    "/.ssh/",
    "id_rsa",
    "id_ed25519",
    "/.aws/credentials",
    "/.kube/config",
    "/.pgpass",
    "/.netrc",
    "/.docker/config.json",
    "/environ",
    "/var/run/secrets/",
    "/.git-credentials",
    ".env",
)


def normalise(path: str) -> str:
    if path.startswith("~"):
        return path
    if not path.startswith("/"):
        return path
    return posixpath.normpath(path).replace("//", "/")


def is_root_like(path: str) -> bool:
    """``/``, ``~``, ``/home``, ``/*``, an empty or one-level path: deleting it is a wipe."""
    stripped = path.strip()
    if stripped in {"", ".", "..", "*", "/*", "~", "~/", "~/*", "$HOME"} or (
        stripped.startswith("~") and "/" not in stripped.strip("/~")
    ):
        return True
    if stripped.startswith(".."):
        return True
    norm = normalise(stripped.rstrip("*").rstrip("/") or "/")
    return norm in TOP_LEVEL or (norm.startswith("/") and norm.count("/") == 1)


def is_system_path(path: str) -> bool:
    norm = normalise(path.strip())
    if norm.startswith("~"):
        return "/.ssh" in norm or norm.rstrip("/") in {"~", "~/.config"}
    return any(norm == tree or norm.startswith(tree + "/") for tree in SYSTEM_TREES)


def is_sensitive_write_target(path: str) -> bool:
    norm = normalise(path.strip())
    return (
        any(norm == f.rstrip("/") or norm.startswith(f) for f in SENSITIVE_FILES)
        or posixpath.basename(norm) in SENSITIVE_NAMES
        or "/.ssh/" in norm
    )


def is_secret_file(path: str) -> bool:
    norm = normalise(path.strip())
    return any(marker in norm for marker in SECRET_MARKERS) and not norm.endswith((".pub", ".example"))
