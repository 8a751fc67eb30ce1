#!/usr/bin/python3
"""The classroom's chores for the Makefile (Debian's python3 and its standard library), run as root.

  classroom.py setup DIR HEAP              stages what every student's server reads into DIR/shared (the student
                                           chapters, the data, the library's jars, the Java kernel with its heap limit
                                           HEAP) and the hub's private folder DIR/hub; makes the repository private
                                           to its owner (its notebooks/ and .git hold the solutions)
  classroom.py users GROUP NAME...         makes each NAME an account in GROUP (the class); a new account gets a
                                           random password, printed once, and a home under CLASSROOM_HOME_BASE
                                           when that is set; an existing one is only added to GROUP
  classroom.py status DIR                  who has a server, since when, last activity (through the hub's API)
  classroom.py collect DIR OUT [CHAPTER...]  copies every student's chapters (or only those named) into OUT/NAME/,
                                           the layout `make grade SUBMISSIONS=OUT` reads

classroom/jupyterhub_config.py reads DIR; README, "Teaching a class", tells the whole story.
"""
import grp
import json
import os
import pathlib
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import urllib.request

REPO = pathlib.Path(__file__).resolve().parent.parent
WORKSPACE = "gpt"   # as in classroom/jupyterhub_config.py


def fail(message, code=1):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def need_root(what):
    if os.geteuid() != 0:
        fail(f"{what} needs root: the hub starts each student's server as that student (sudo make ...)")


def copy(src, dst, mode=0o644):
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    os.chmod(tmp, mode)
    os.replace(tmp, dst)


def setup(root, heap):
    need_root("make classroom")
    root = pathlib.Path(root)
    shared, hub = root / "shared", root / "hub"
    for d, mode in ((root, 0o755), (shared, 0o755), (hub, 0o700), (root / "collected", 0o700)):
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, mode)
    chapters = sorted((REPO / "student").glob("[0-9]*.ipynb"))
    if not chapters:
        fail("no student copies in student/ (make student makes them)")
    old = shared / "chapters"
    if old.exists():
        shutil.rmtree(old)   # a new release of the chapters; students' own copies are never touched
    for nb in chapters:
        copy(nb, shared / "chapters" / nb.name)
    # The library and the jars its manifest names (target/lib/), copied when they changed.
    copy(REPO / "target" / "gpt.jar", shared / "target" / "gpt.jar")
    lib = shared / "target" / "lib"
    wanted = {p.name: p for p in (REPO / "target" / "lib").glob("*.jar")}
    for name, src in wanted.items():
        dst = lib / name
        if not dst.is_file() or dst.stat().st_size != src.stat().st_size:
            copy(src, dst)
    for stale in lib.glob("*.jar"):
        if stale.name not in wanted:
            stale.unlink()
    # The data: a checked copy (the jar downloads it, or copies it from GPT_DATA_URL), read-only for students.
    if subprocess.run(["java", "-jar", str(REPO / "target" / "gpt.jar"), "data", "--dir", str(shared / "data")]).returncode:
        fail("the data set could not be staged (the line above says why)")
    os.chmod(shared / "data" / "tinyshakespeare.txt", 0o644)
    # The Java kernel, as `make kernel` installs it, with a heap limit: thirty JVMs share the machine's memory.
    kernel = shared / "jupyter" / "kernels" / "java"
    copy(REPO / "kernel" / "target" / "kernel.jar", kernel / "kernel.jar")
    spec = json.loads((REPO / "target" / "jupyter" / "share" / "kernels" / "java" / "kernel.json").read_text())
    spec["argv"] = [a.replace("{resource_dir}", str(kernel)) for a in spec["argv"]]
    spec["argv"].insert(1, f"-Xmx{heap}")
    (kernel / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    os.chmod(kernel / "kernel.json", 0o644)
    for d in [shared] + [p for p in shared.rglob("*") if p.is_dir()]:
        os.chmod(d, 0o755)
    token = hub / "collector.token"
    if not token.exists():
        token.write_text(secrets.token_hex(32) + "\n")
    os.chmod(token, 0o600)
    # The solutions are in notebooks/, target/notebooks/ and .git: students' accounts must not reach them.
    mode = REPO.stat().st_mode
    if mode & (stat.S_IROTH | stat.S_IXOTH):
        os.chmod(REPO, mode & ~(stat.S_IRWXO))
        print(f"classroom: {REPO} (the solutions) is now private to its owner and group (chmod o-rwx)")
    print(f"classroom: {len(chapters)} chapters, the data, the jar and the Java kernel (-Xmx{heap}) in {shared}")


def users(group, names):
    need_root("make classroom-users")
    try:
        grp.getgrnam(group)
    except KeyError:
        subprocess.run(["groupadd", group], check=True)
        print(f"group {group}: made")
    for name in names:
        try:
            pwd.getpwnam(name)
            subprocess.run(["usermod", "-aG", group, name], check=True)
            print(f"{name}: an existing account, now in {group} (its password is unchanged)")
        except KeyError:
            base = os.environ.get("CLASSROOM_HOME_BASE", "").strip()   # where homes go, when not the system's
            if base:
                pathlib.Path(base).mkdir(parents=True, exist_ok=True)
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "-G", group, name]
                           + (["--base-dir", base] if base else []), check=True)
            password = secrets.token_urlsafe(9)
            subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
            print(f"{name}: new account in {group}, password {password}")
        home = pathlib.Path(pwd.getpwnam(name).pw_dir)
        if home.is_dir():
            os.chmod(home, 0o700)   # a home of its own: other students cannot list it


class Hub:
    """The hub's REST API, as the classroom-collector service (its token is in DIR/hub, root only)."""

    def __init__(self, root):
        token = pathlib.Path(root) / "hub" / "collector.token"
        if not token.is_file():
            fail(f"no {token}: is the hub set up (make classroom) in {root}?")
        self.token = token.read_text().strip()
        port = os.environ.get("CLASSROOM_HUB_PORT", "8081")
        self.url = f"http://127.0.0.1:{port}/hub/api"

    def get(self, path):
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return json.load(r)
        except OSError as e:
            fail(f"the hub at {self.url} does not answer ({e}): is `make classroom` running?")


def students(root):
    """(name, user record) for every student the hub knows (teachers left out)."""
    return [(u["name"], u) for u in sorted(Hub(root).get("/users"), key=lambda u: u["name"]) if not u.get("admin")]


def status(root):
    rows = students(root)
    print(f"{'student':16} {'server':10} {'started':20} last activity")
    for name, u in rows:
        server = (u.get("servers") or {}).get("")
        state = "running" if server and server.get("ready") else ("starting" if server else "stopped")
        started = (server or {}).get("started") or "-"
        print(f"{name:16} {state:10} {started[:19]:20} {(u.get('last_activity') or '-')[:19]}")
    running = sum(1 for _, u in rows if (u.get("servers") or {}).get(""))
    print(f"{len(rows)} students, {running} with a server")


def collect(root, out, chapters):
    need_root("make classroom-collect")
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, _ in students(root):
        try:
            home = pathlib.Path(pwd.getpwnam(name).pw_dir)
        except KeyError:
            print(f"{name}: no account on this machine: nothing to collect")
            continue
        mine = home / WORKSPACE / "chapters"
        found = sorted(p for p in mine.glob("[0-9]*.ipynb")
                       if p.is_file() and not p.is_symlink() and (not chapters or p.stem in chapters))
        dest = out / name
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir()
        for nb in found:
            copy(nb, dest / nb.name, 0o600)
        total += len(found)
        print(f"{name}: {len(found)} notebooks" + ("" if found else f" (none in {mine})"))
    print(f"collected {total} notebooks into {out}; grade them with: make grade SUBMISSIONS={out}")


def main(argv):
    if len(argv) < 2:
        fail(__doc__.strip().splitlines()[2], 2)
    cmd, args = argv[1], argv[2:]
    if cmd == "setup" and len(args) == 2:
        setup(*args)
    elif cmd == "users" and len(args) >= 1:
        if len(args) == 1:
            fail("name the students: make classroom-users STUDENTS=\"alice bob ...\"", 2)
        users(args[0], args[1:])
    elif cmd == "status" and len(args) == 1:
        status(args[0])
    elif cmd == "collect" and len(args) >= 2:
        collect(args[0], args[1], set(args[2:]))
    else:
        fail(f"usage: see {__file__}'s docstring", 2)


if __name__ == "__main__":
    main(sys.argv)
