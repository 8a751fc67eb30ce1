# JupyterHub for a class: every student logs in with their own account and gets their own notebook server, running
# as that account, in their own folder with their own copy of the chapters (without the solutions), their own runs/
# and results/. Started by `make classroom` (as root: the hub starts each student's server as that student), which
# stages what students share under CLASSROOM_DIR first (scripts/classroom.py setup) and passes the settings below as
# CLASSROOM_* environment variables. README, "Teaching a class", says how to run a class with it.
#
# What is where (CLASSROOM_DIR, /srv/gpt-classroom by default):
#   hub/        the hub's database, cookie secret and service token: root only
#   shared/     read-only for students: chapters/ (the student copies `make student` makes), data/ (Tiny
#               Shakespeare), target/gpt.jar (the library the chapters load), jupyter/ (the Java kernel)
#   collected/  `make classroom-collect` copies every student's chapters here, one folder each, for `make grade`
# and in each student's home, ~/gpt (mode 0700, owned by them): chapters/, runs/, results/, and links to the shared
# data/ and target/. The repository itself (notebooks/ with the solutions, and .git) is made private to its owner.
import os
import pwd
import shutil
import sys
import time
from pathlib import Path

from jupyterhub.auth import PAMAuthenticator

c = get_config()  # noqa: F821 (JupyterHub's config loader defines it)


def setting(name, default):
    value = os.environ.get("CLASSROOM_" + name, "").strip()
    return value if value else default


ROOT = Path(setting("DIR", "/srv/gpt-classroom"))
SHARED = ROOT / "shared"
HUB = ROOT / "hub"
WORKSPACE = "gpt"                        # each student's folder, under their home
GROUP = setting("GROUP", "gpt-class")    # students are the members of this group
ADMINS = set(setting("ADMINS", "").split())
THREADS = setting("THREADS", "1")        # each student's training threads (GPT_THREADS): 30 students share the cores
MAX_ITERS = setting("MAX_ITERS", "")     # GPT_MAX_ITERS for the whole class: empty keeps the lecture's settings
CULL_IDLE = int(setting("CULL_IDLE", "3600"))  # seconds: an idle kernel is stopped, then its idle server

if not (SHARED / "target" / "gpt.jar").is_file():
    sys.exit(f"error: {SHARED} is not staged: start the hub with `make classroom` (scripts/classroom.py setup)")

# Where the hub listens: this machine only unless told otherwise (CLASSROOM_IP=0.0.0.0 in a container).
c.JupyterHub.ip = setting("IP", "127.0.0.1")
c.JupyterHub.port = int(setting("PORT", "8000"))
c.JupyterHub.hub_port = int(setting("HUB_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{setting('PROXY_API_PORT', '8001')}"
c.JupyterHub.db_url = f"sqlite:///{HUB / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(HUB / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(HUB / "proxy.pid")
# A restarted hub finds the students' servers still running (their kernels and training runs go on meanwhile).
c.JupyterHub.cleanup_servers = False


class ClassroomAuthenticator(PAMAuthenticator):
    """The machine's own accounts and passwords (PAM), for the members of the class's group and its teachers.

    PAMAuthenticator alone would let every account on the machine in; allowed_groups alone would shut out a teacher
    who is not in the students' group.
    """

    def check_allowed(self, username, authentication=None):
        return username in self.admin_users or super().check_allowed(username, authentication)


c.JupyterHub.authenticator_class = ClassroomAuthenticator
c.ClassroomAuthenticator.allowed_groups = {GROUP}
c.Authenticator.admin_users = ADMINS
# The admin page lists who is running; it does not open students' servers (their files stay theirs).
c.JupyterHub.admin_access = False

# Each student's server runs as their own account (LocalProcessSpawner, JupyterHub's default).
c.Spawner.notebook_dir = f"~/{WORKSPACE}"
c.Spawner.default_url = "/tree/chapters"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60
c.JupyterHub.concurrent_spawn_limit = int(setting("CONCURRENT_SPAWNS", "10"))
c.JupyterHub.active_server_limit = int(setting("MAX_SERVERS", "0"))  # 0: no limit
# Idle culling with what Debian has (its JupyterHub comes without the jupyterhub-idle-culler service): each notebook
# server stops kernels idle for CULL_IDLE seconds, whether or not a browser tab is still open on them (a training
# cell that is running is not idle), and shuts itself down CULL_IDLE seconds after its last kernel; the hub's poll
# then marks the server stopped, and the student starts it again from the hub page.
c.Spawner.args = [
    f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE}",
    f"--MappingKernelManager.cull_interval={max(5, min(300, CULL_IDLE // 2))}",
    "--MappingKernelManager.cull_connected=True",
    f"--NotebookApp.shutdown_no_activity_timeout={CULL_IDLE}",
]
c.Spawner.poll_interval = int(setting("POLL", "30"))


def workspace(spawner):
    """The student's folder: made on their first start, their own files never overwritten afterwards."""
    account = pwd.getpwnam(spawner.user.name)
    home = Path(account.pw_dir)
    ws = home / WORKSPACE

    def own(path, mode):
        os.chown(path, account.pw_uid, account.pw_gid)
        os.chmod(path, mode)

    if not home.is_dir():
        raise RuntimeError(f"{spawner.user.name} has no home folder {home}")
    for d in (ws, ws / "chapters", ws / "runs", ws / "results"):
        d.mkdir(exist_ok=True)
        own(d, 0o700)   # nobody else reads or writes a student's work
    for name in ("data", "target"):   # the chapters load ../data and ../target/gpt.jar
        link = ws / name
        if not link.is_symlink():
            if link.exists():   # something of the student's own by that name: moved aside, never deleted
                link.rename(ws / f"{name}.moved-{int(time.time())}")
            link.symlink_to(SHARED / name)
            os.lchown(link, account.pw_uid, account.pw_gid)
    for chapter in sorted((SHARED / "chapters").glob("*.ipynb")):
        mine = ws / "chapters" / chapter.name
        if not mine.exists():
            shutil.copyfile(chapter, mine)
            own(mine, 0o600)
    return ws


def pre_spawn_hook(spawner):
    ws = workspace(spawner)
    env = {
        "GPT_THREADS": THREADS,
        "OMP_NUM_THREADS": "1",
        "GPT_RESULTS_DIR": str(ws / "results"),
        "GPT_DATA_URL": (SHARED / "data" / "tinyshakespeare.txt").as_uri(),
        "JUPYTER_PATH": str(SHARED / "jupyter"),
    }
    if MAX_ITERS:
        env["GPT_MAX_ITERS"] = MAX_ITERS
    # The OpenBLAS kernels `make classroom` runs with (the Makefile's choice for this CPU): the hub passes on only what
    # it is told to, and without it OpenBLAS picks slow generic kernels on CPUs newer than it.
    if os.environ.get("OPENBLAS_CORETYPE"):
        env["OPENBLAS_CORETYPE"] = os.environ["OPENBLAS_CORETYPE"]
    spawner.environment = {**spawner.environment, **env}   # a new dict: this student's, not every spawner's


c.Spawner.pre_spawn_hook = pre_spawn_hook

# `make classroom-collect` asks the hub who the students are through this service's token (root only, in hub/).
token_file = HUB / "collector.token"
if token_file.is_file():
    c.JupyterHub.services = [{"name": "classroom-collector", "api_token": token_file.read_text().strip()}]
    c.JupyterHub.load_roles = [{
        "name": "classroom-collector",
        "scopes": ["list:users", "read:users", "read:servers"],
        "services": ["classroom-collector"],
    }]

# Extra settings (a test's authenticator, a lab's own choices) from one more file, when CLASSROOM_EXTRA_CONFIG names it.
extra = setting("EXTRA_CONFIG", "")
if extra:
    load_subconfig(extra)  # noqa: F821
