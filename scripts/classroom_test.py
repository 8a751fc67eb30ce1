#!/usr/bin/python3
"""make classroom-test: the classroom hub (classroom/jupyterhub_config.py) for real, on 127.0.0.1, as root.

It makes test accounts (gpt-test-01 ... gpt-test-10 in the group gpt-class-test, and the teacher gpt-test-teacher),
stages a classroom in a fresh folder (scripts/classroom.py setup), starts JupyterHub with PAM logins, and checks:

  browser   headless Chromium (scripts/classroom_browser.js) logs in as two students, each opens chapter 4 from
            their own folder, runs all cells and sees text output, a plot and their first exercise's test message
            (screenshots); the other student's server and contents API refuse them (403), and code in their own
            kernel cannot read the other's folder or the teacher's solutions (the operating system refuses it)
  load      ten students log in and their servers start; each executes chapter 5 (training cut by the class's
            GPT_MAX_ITERS) through its own server's kernel at the same time, nine typing the exercises' solutions
            and one leaving the stubs; every executed notebook is saved in the student's folder and every results
            file is present and valid; the hub answers throughout (polled every 0.5 s); wall time per student and
            the hub's and proxy's peak memory (VmHWM) are reported
  faults    while the others run, one student's kernel and another student's notebook server are killed
            (SIGKILL); the others finish; the first restarts their kernel and runs the chapter again, the second
            starts their server again with the hub page's button (in Chromium) and runs the chapter again
  teacher   the admin page lists the students (Chromium); `classroom.py status` shows who is running; `classroom.py
            collect` gathers every student's chapter into one folder, and `make grade` gives full points to a
            student who solved the exercises and none to the one who did not
  restart   the hub stopped and started again: the students' servers are still running and still reachable
  culling   with a short idle timeout, an idle kernel is stopped, then its server, and the hub marks it stopped

Everything goes to target/classroom-test/ (report.json, screenshots, the hub's log). The accounts and the staged
folder are removed at the end; nothing listens beyond 127.0.0.1. Exits 1 at the first failed check.
"""
import asyncio
import json
import os
import pathlib
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
import http.cookiejar

from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPClientError
from tornado.websocket import websocket_connect

REPO = pathlib.Path(__file__).resolve().parent.parent
OUT = REPO / "target" / "classroom-test"
ROOT = pathlib.Path(os.environ.get("CLASSROOM_TEST_DIR", "/tmp/gpt-classroom-test"))
GROUP = "gpt-class-test"
STUDENTS = [f"gpt-test-{i:02d}" for i in range(1, 11)]
TEACHER = "gpt-test-teacher"
PORT, HUB_PORT, PROXY_PORT = 8311, 8312, 8313
HUB = f"http://127.0.0.1:{PORT}"
API = f"http://127.0.0.1:{HUB_PORT}/hub/api"
MAX_ITERS = os.environ.get("CLASSROOM_TEST_MAX_ITERS", "100")
LOAD_CHAPTER = "05-training-loop"
BROWSER_CHAPTER = "04-bigram-model"
NO_SOLUTIONS = STUDENTS[7]          # types nothing into the exercises: its tests fail, nothing else does
KILL_KERNEL, KILL_SERVER = STUDENTS[8], STUDENTS[9]
SERVICE_TOKEN = secrets.token_hex(32)
PASSWORDS = {name: secrets.token_urlsafe(12) for name in STUDENTS + [TEACHER]}
report = {"students": {}, "checks": []}


def ok(what):
    print(f"  ok: {what}", flush=True)
    report["checks"].append(what)


def fail(what):
    print(f"error: classroom test: {what}", flush=True)
    raise SystemExit(1)


def sh(*cmd, **kw):
    return subprocess.run(list(cmd), check=True, **kw)


# ---------------------------------------------------------------------------------------------------------- set-up

def accounts():
    if subprocess.run(["getent", "group", GROUP], capture_output=True).returncode != 0:
        sh("groupadd", GROUP)
    for name in STUDENTS + [TEACHER]:
        if subprocess.run(["id", name], capture_output=True).returncode != 0:
            sh("useradd", "--create-home", "--shell", "/bin/bash", name)
        if name != TEACHER:
            sh("usermod", "-aG", GROUP, name)
        sh("chpasswd", input=f"{name}:{PASSWORDS[name]}\n", text=True)
        home = pathlib.Path(pwd.getpwnam(name).pw_dir)
        shutil.rmtree(home / "gpt", ignore_errors=True)   # a fresh start for each run
        os.chmod(home, 0o700)
    ok(f"{len(STUDENTS)} student accounts in {GROUP} and the teacher {TEACHER}, with passwords (PAM)")


def remove_accounts():
    for name in STUDENTS + [TEACHER]:
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
    time.sleep(1)
    for name in STUDENTS + [TEACHER]:
        subprocess.run(["userdel", "-r", name], capture_output=True)
    subprocess.run(["groupdel", GROUP], capture_output=True)


def hub_env(cull_idle):
    env = dict(os.environ)
    env.update({
        "CLASSROOM_DIR": str(ROOT), "CLASSROOM_IP": "127.0.0.1", "CLASSROOM_PORT": str(PORT),
        "CLASSROOM_HUB_PORT": str(HUB_PORT), "CLASSROOM_PROXY_API_PORT": str(PROXY_PORT),
        "CLASSROOM_GROUP": GROUP, "CLASSROOM_ADMINS": TEACHER, "CLASSROOM_THREADS": "1",
        "CLASSROOM_MAX_ITERS": MAX_ITERS, "CLASSROOM_CULL_IDLE": str(cull_idle), "CLASSROOM_POLL": "5",
        "CLASSROOM_EXTRA_CONFIG": str(ROOT / "hub" / "test_config.py"), "NODE_PATH": "/usr/share/nodejs",
    })
    return env


def start_hub(cull_idle, log_name):
    log = open(OUT / log_name, "w")
    hub = subprocess.Popen(["jupyterhub", "-f", str(REPO / "classroom" / "jupyterhub_config.py")],
                           cwd=ROOT / "hub", env=hub_env(cull_idle), stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if hub.poll() is not None:
            fail(f"the hub stopped (exit {hub.returncode}): see {OUT / log_name}")
        try:
            with urllib.request.urlopen(f"{HUB}/hub/login", timeout=2) as r:
                if r.status == 200:
                    return hub
        except OSError:
            time.sleep(0.5)
    fail(f"the hub did not answer within 60 s: see {OUT / log_name}")


def stop_hub(hub):
    os.killpg(hub.pid, signal.SIGTERM)
    try:
        hub.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(hub.pid, signal.SIGKILL)
        hub.wait()


def peak_kib(pid):
    """The process's peak resident memory (VmHWM), in KiB."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def proxy_pid():
    return int((ROOT / "hub" / "proxy.pid").read_text().strip())


# ------------------------------------------------------------------------------------------------------ the hub API

async def api(method, path, body=None, ok_codes=(200, 201, 202, 204)):
    request = HTTPRequest(API + path, method=method, headers={"Authorization": f"token {SERVICE_TOKEN}"},
                          body=None if body is None else json.dumps(body), allow_nonstandard_methods=True,
                          request_timeout=60)
    try:
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
    except OSError as e:
        fail(f"the hub's API did not answer {method} {path}: {e}")
    if response.code not in ok_codes:
        fail(f"{method} {path}: {response.code} {response.body[:300]!r}")
    return json.loads(response.body) if response.body else None


async def start_server(user):
    """Asks the hub to start the user's server. Logging in through the form may have started it already (with
    redirect_to_server, the hub's redirect after a login goes to /hub/spawn), and a server that has finished starting
    answers 400 "already running": the same outcome as a 201. (One still starting answers 202.)"""
    answer = await api("POST", f"/users/{user}/server", ok_codes=(201, 202, 400)) or {}
    if answer.get("status") == 400 and "already running" not in answer.get("message", ""):
        fail(f"POST /users/{user}/server: 400 {answer.get('message')!r}")


async def server_state(user):
    server = ((await api("GET", f"/users/{user}")).get("servers") or {}).get("")
    return "stopped" if not server else ("ready" if server.get("ready") else "pending")


async def wait_state(user, state, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if await server_state(user) == state:
            return
        await asyncio.sleep(1)
    fail(f"{user}'s server is not {state} after {seconds} s")


def login(user):
    """Logs in through the login form (PAM checks the password), as the browser does; returns the cookie jar."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    data = urllib.parse.urlencode({"username": user, "password": PASSWORDS[user]}).encode()
    with opener.open(f"{HUB}/hub/login?next=", data=data, timeout=60) as r:
        if "/hub/login" in r.geturl():
            fail(f"{user}: login refused")
    return jar


# --------------------------------------------------------------------------- running a notebook through a kernel

class KernelDied(Exception):
    pass


class ServerDied(Exception):
    pass


def solution_sources():
    """The answer cells' sources in the teacher's copy (with the solutions), by cell id: what a student who solved
    the exercises has typed."""
    teacher = json.loads((REPO / "notebooks" / f"{LOAD_CHAPTER}.ipynb").read_text())
    return {c["id"]: "".join(c["source"]) for c in teacher["cells"]
            if c["cell_type"] == "code" and c.get("metadata", {}).get("nbgrader", {}).get("solution")}


class Student:
    def __init__(self, name):
        self.name = name
        self.base = f"{HUB}/user/{name}"
        self.headers = {"Authorization": f"token {SERVICE_TOKEN}"}
        self.kernel = None

    async def fetch(self, method, path, body=None):
        request = HTTPRequest(self.base + path, method=method, headers=self.headers, request_timeout=120,
                              body=None if body is None else json.dumps(body), allow_nonstandard_methods=True)
        try:
            response = await AsyncHTTPClient().fetch(request)
        except (HTTPClientError, OSError) as e:
            raise ServerDied(f"{method} {path}: {e}") from e
        return json.loads(response.body) if response.body else None

    async def open(self, path):
        session = await self.fetch("POST", "/api/sessions",
                                   {"path": path, "type": "notebook", "name": "", "kernel": {"name": "java"}})
        self.kernel = session["kernel"]["id"]

    async def restart_kernel(self):
        await self.fetch("POST", f"/api/kernels/{self.kernel}/restart", {})

    async def run(self, path, typed, on_cell=None):
        """Executes the notebook's code cells in order, as Run All does, into its outputs, and saves it."""
        nb = (await self.fetch("GET", f"/api/contents/{urllib.parse.quote(path)}?content=1"))["content"]
        ws_url = f"ws://127.0.0.1:{PORT}/user/{self.name}/api/kernels/{self.kernel}/channels"
        try:
            # The server answers the handshake once the kernel has replied to kernel_info, or after its own
            # kernel_info_timeout (60 s) when it has not: with ten JVMs starting at once on two cores that can take
            # the whole minute, so this waits longer than the server does (a 60 s timeout here raced the server's).
            ws = await websocket_connect(HTTPRequest(ws_url, headers=self.headers, request_timeout=180))
        except (HTTPClientError, OSError) as e:
            raise ServerDied(f"websocket: {e}") from e
        session, errors, count = uuid.uuid4().hex, [], 0
        try:
            for index, cell in enumerate(nb["cells"]):
                if cell["cell_type"] != "code":
                    continue
                if cell.get("id") in typed:
                    cell["source"] = typed[cell["id"]]
                code = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
                msg_id = uuid.uuid4().hex
                await ws.write_message(json.dumps({
                    "header": {"msg_id": msg_id, "username": self.name, "session": session,
                               "msg_type": "execute_request", "version": "5.3"},
                    "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                    "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                                "allow_stdin": False, "stop_on_error": False}}))
                if on_cell:
                    await on_cell(index, cell)
                outputs, replied, idle = [], False, False
                while not (replied and idle):
                    raw = await asyncio.wait_for(ws.read_message(), 600)
                    if raw is None:
                        raise ServerDied("the kernel's websocket closed")
                    msg = json.loads(raw)
                    kind, content = msg["msg_type"], msg["content"]
                    if kind == "status" and content.get("execution_state") in ("restarting", "dead"):
                        raise KernelDied(content["execution_state"])
                    if msg.get("parent_header", {}).get("msg_id") != msg_id:
                        continue
                    if kind == "stream":
                        outputs.append({"output_type": "stream", "name": content["name"], "text": content["text"]})
                    elif kind in ("display_data", "execute_result"):
                        out = {"output_type": kind, "data": content["data"], "metadata": content.get("metadata", {})}
                        if kind == "execute_result":
                            out["execution_count"] = content["execution_count"]
                        outputs.append(out)
                    elif kind == "error":
                        outputs.append({"output_type": "error", "ename": content["ename"],
                                        "evalue": content["evalue"], "traceback": content["traceback"]})
                        errors.append((index, content["evalue"][:160]))
                    elif kind == "execute_reply":
                        replied = True
                        cell["execution_count"] = content.get("execution_count")
                    elif kind == "status" and content.get("execution_state") == "idle":
                        idle = True
                cell["outputs"] = outputs
                count += 1
        finally:
            ws.close()
        await self.fetch("PUT", f"/api/contents/{urllib.parse.quote(path)}",
                         {"type": "notebook", "format": "json", "content": nb})   # File > Save
        return nb, errors, count


def check_errors(student, nb, errors, solved):
    """Only test cells may fail, and only for the student who typed no solutions; every one of theirs must."""
    tests = {i for i, c in enumerate(nb["cells"]) if c.get("metadata", {}).get("nbgrader", {}).get("grade")}
    failed = {i for i, _ in errors}
    if solved and errors:
        fail(f"{student}: cells failed: {errors}")
    if not solved and failed != tests:
        fail(f"{student}: expected exactly the test cells {sorted(tests)} to fail, got {errors}")


def check_results(student):
    path = pathlib.Path(pwd.getpwnam(student).pw_dir) / "gpt" / "results" / f"{LOAD_CHAPTER}-bigram.json"
    if not path.is_file():
        fail(f"{student}: no results file {path}")
    row = json.loads(path.read_text())
    if row.get("iters") != int(MAX_ITERS) or not (0 < row.get("val_loss", 0) < 4.2) or not row.get("sample"):
        fail(f"{student}: results file {path} is not a finished run: {row}")
    saved = pathlib.Path(pwd.getpwnam(student).pw_dir) / "gpt" / "chapters" / f"{LOAD_CHAPTER}.ipynb"
    executed = json.loads(saved.read_text())
    if not any(c.get("outputs") for c in executed["cells"] if c["cell_type"] == "code"):
        fail(f"{student}: the saved notebook {saved} has no outputs")
    if pathlib.Path(saved).stat().st_uid != pwd.getpwnam(student).pw_uid:
        fail(f"{student}: {saved} is not owned by them")
    return row


# ----------------------------------------------------------------------------------------------------------- phases

def browser(mode, user, *args):
    node = subprocess.run(["node", str(REPO / "scripts" / "classroom_browser.js"), mode, HUB, user, PASSWORDS[user],
                           *args], env={**os.environ, "NODE_PATH": str(REPO / "target" / "tools" / "node_modules")},
                          capture_output=True, text=True, timeout=900)
    sys.stdout.write(node.stdout)
    if node.returncode != 0:
        sys.stdout.write(node.stderr[-2000:])
        fail(f"the browser ({mode}, {user}) failed")
    report["checks"].extend(line.strip() for line in node.stdout.splitlines() if line.strip().startswith("ok:"))


async def browser_phase():
    a, b = STUDENTS[0], STUDENTS[1]
    secret = str(REPO / "notebooks" / f"{BROWSER_CHAPTER}.ipynb")
    # Both servers up first (the first student logs in), so each student's probe of the other's reaches a server.
    login(b)
    await start_server(b)
    await wait_state(b, "ready", 120)
    browser("student", a, BROWSER_CHAPTER, str(OUT), b, secret)
    browser("student", b, BROWSER_CHAPTER, str(OUT), a, secret)


async def poll_hub(stop, latencies, failures):
    client = AsyncHTTPClient()
    while not stop.is_set():
        started = time.monotonic()
        try:
            await client.fetch(f"{HUB}/hub/api/", request_timeout=10)
            latencies.append(time.monotonic() - started)
        except Exception as e:  # noqa: BLE001 (any failure to answer counts)
            failures.append(str(e))
        await asyncio.sleep(0.5)


def pkill(user, pattern):
    return subprocess.run(["pkill", "-KILL", "-u", user, "-f", pattern], capture_output=True).returncode == 0


async def load_phase():
    path = f"chapters/{LOAD_CHAPTER}.ipynb"
    solutions = solution_sources()
    started = time.monotonic()
    for name in STUDENTS:
        await asyncio.to_thread(login, name)
    ok(f"{len(STUDENTS)} students logged in through the login form ({time.monotonic() - started:.1f} s)")
    spawn_started = time.monotonic()
    await asyncio.gather(*(start_server(n) for n in STUDENTS))
    await asyncio.gather(*(wait_state(n, "ready", 300) for n in STUDENTS))
    ok(f"{len(STUDENTS)} servers running, each as its student ({time.monotonic() - spawn_started:.1f} s to start)")
    for name in STUDENTS:
        owners = subprocess.run(["pgrep", "-u", name, "-f", "jupyterhub-singleuser"], capture_output=True, text=True)
        if not owners.stdout.strip():
            fail(f"no notebook server runs as {name}")

    stop, latencies, failures = asyncio.Event(), [], []
    poller = asyncio.create_task(poll_hub(stop, latencies, failures))
    kill_cell = next(i for i, c in enumerate(json.loads((REPO / "student" / f"{LOAD_CHAPTER}.ipynb").read_text())["cells"])
                     if "Notebook.train(" in "".join(c["source"]))

    def fault(victim, kill):
        async def on_cell(index, cell):
            if index == kill_cell:
                await asyncio.sleep(1.0)   # the cell is running: training has started
                if not kill():
                    fail(f"nothing to kill for {victim}")
        return on_cell

    async def one(name):
        st = Student(name)
        t0 = time.monotonic()
        typed = {} if name == NO_SOLUTIONS else solutions
        on_cell = None
        if name == KILL_KERNEL:
            on_cell = fault(name, lambda: pkill(name, "kernel.jar"))
        elif name == KILL_SERVER:
            on_cell = fault(name, lambda: pkill(name, "jupyterhub-singleuser"))
        try:
            await st.open(path)
            nb, errors, count = await st.run(path, typed, on_cell)
        except (KernelDied, ServerDied) as e:
            return name, st, time.monotonic() - t0, e
        check_errors(name, nb, errors, name != NO_SOLUTIONS)
        return name, st, time.monotonic() - t0, count

    results = await asyncio.gather(*(one(n) for n in STUDENTS))
    stop.set()
    await poller
    victims = {}
    for name, st, seconds, outcome in results:
        if isinstance(outcome, Exception):
            if name not in (KILL_KERNEL, KILL_SERVER):
                fail(f"{name} did not finish: {outcome!r}")
            victims[name] = (st, outcome)
            report["students"][name] = {"killed": type(outcome).__name__, "seconds_until_killed": round(seconds, 1)}
            continue
        row = check_results(name)
        report["students"][name] = {"seconds": round(seconds, 1), "cells": outcome, "val_loss": row["val_loss"],
                                    "solved_exercises": name != NO_SOLUTIONS}
    finished = [r for r in results if not isinstance(r[3], Exception)]
    if len(finished) != len(STUDENTS) - 2 or set(victims) != {KILL_KERNEL, KILL_SERVER}:
        fail(f"expected the two victims to die and the rest to finish: died {sorted(victims)}")
    times = sorted(r[2] for r in finished)
    ok(f"{len(finished)} students ran {LOAD_CHAPTER} at once and finished, results valid, notebooks saved: "
       f"{times[0]:.1f}-{times[-1]:.1f} s each (median {times[len(times) // 2]:.1f})")
    if failures:
        fail(f"the hub failed to answer {len(failures)} of {len(failures) + len(latencies)} polls: {failures[:3]}")
    ok(f"the hub answered all {len(latencies)} polls during the run (slowest {max(latencies) * 1000:.0f} ms)")
    report["load"] = {"students": len(STUDENTS), "chapter": LOAD_CHAPTER, "max_iters": int(MAX_ITERS),
                      "seconds_min": round(times[0], 1), "seconds_median": round(times[len(times) // 2], 1),
                      "seconds_max": round(times[-1], 1), "hub_polls": len(latencies),
                      "hub_slowest_poll_ms": round(max(latencies) * 1000)}
    return victims


async def recovery_phase(victims):
    path = f"chapters/{LOAD_CHAPTER}.ipynb"
    solutions = solution_sources()
    st, died = victims[KILL_KERNEL]
    if not isinstance(died, KernelDied):
        fail(f"{KILL_KERNEL}: expected its kernel to die, got {died!r}")
    ok(f"{KILL_KERNEL}: its kernel was killed mid-training; the server reported it ({died})")
    t0 = time.monotonic()
    await st.restart_kernel()                       # Kernel > Restart, then Run All
    nb, errors, _ = await st.run(path, solutions)
    check_errors(KILL_KERNEL, nb, errors, True)
    check_results(KILL_KERNEL)
    report["students"][KILL_KERNEL]["rerun_seconds"] = round(time.monotonic() - t0, 1)
    ok(f"{KILL_KERNEL}: restarted its kernel, ran the chapter again, results valid ({time.monotonic() - t0:.1f} s)")

    st, died = victims[KILL_SERVER]
    if not isinstance(died, ServerDied):
        fail(f"{KILL_SERVER}: expected its server to die, got {died!r}")
    await wait_state(KILL_SERVER, "stopped", 60)
    ok(f"{KILL_SERVER}: its server was killed mid-training; the hub marked it stopped")
    # Its kernel lost the server that started it: it stops by itself (the kernel watches its parent).
    deadline, orphans = time.time() + 15, []
    while time.time() < deadline:
        orphans = subprocess.run(["pgrep", "-u", KILL_SERVER, "-f", "kernel.jar"], capture_output=True,
                                 text=True).stdout.split()
        if not orphans:
            break
        time.sleep(1)
    if orphans:
        fail(f"{KILL_SERVER}: its kernel (pid {', '.join(orphans)}) outlived its killed server")
    ok(f"{KILL_SERVER}: its kernel stopped with the server that started it (no kernel left training for nobody)")
    t0 = time.monotonic()
    await asyncio.to_thread(browser, "restart", KILL_SERVER, str(OUT))
    await wait_state(KILL_SERVER, "ready", 60)
    st = Student(KILL_SERVER)
    await st.open(path)
    nb, errors, _ = await st.run(path, solutions)
    check_errors(KILL_SERVER, nb, errors, True)
    check_results(KILL_SERVER)
    report["students"][KILL_SERVER]["rerun_seconds"] = round(time.monotonic() - t0, 1)
    ok(f"{KILL_SERVER}: started again from the hub page, ran the chapter again, results valid "
       f"({time.monotonic() - t0:.1f} s)")


def teacher_phase():
    browser("admin", TEACHER, str(OUT), *STUDENTS)
    env = {**os.environ, "CLASSROOM_HUB_PORT": str(HUB_PORT)}
    status = subprocess.run([sys.executable, str(REPO / "scripts" / "classroom.py"), "status", str(ROOT)], env=env,
                            capture_output=True, text=True)
    (OUT / "status.txt").write_text(status.stdout)
    if status.returncode != 0 or f"{len(STUDENTS)} students, {len(STUDENTS)} with a server" not in status.stdout:
        fail(f"classroom.py status: {status.stdout}{status.stderr}")
    ok(f"classroom.py status: {status.stdout.strip().splitlines()[-1]}")
    collected = OUT / "collected"
    shutil.rmtree(collected, ignore_errors=True)
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "classroom.py"), "collect", str(ROOT), str(collected),
                          LOAD_CHAPTER], env=env, capture_output=True, text=True)
    if run.returncode != 0:
        fail(f"classroom.py collect: {run.stdout}{run.stderr}")
    folders = sorted(p.name for p in collected.iterdir())
    if folders != STUDENTS or not all((collected / s / f"{LOAD_CHAPTER}.ipynb").is_file() for s in STUDENTS):
        fail(f"collect: expected one folder per student with {LOAD_CHAPTER}.ipynb, got {folders}")
    ok(f"classroom.py collect: {len(folders)} students' {LOAD_CHAPTER} in {collected.relative_to(REPO)}")
    # make grade on two of them: the one who solved the exercises, the one who did not.
    subset = OUT / "grade-these"
    shutil.rmtree(subset, ignore_errors=True)
    for s in (STUDENTS[2], NO_SOLUTIONS):
        shutil.copytree(collected / s, subset / s)
    grade = subprocess.run(["make", "-s", "grade", f"SUBMISSIONS={subset}", "MVN=mvn -B -q", f"GPT_MAX_ITERS={MAX_ITERS}"],
                           cwd=REPO, capture_output=True, text=True)
    (OUT / "grade.txt").write_text(grade.stdout + grade.stderr)
    grades = json.loads((REPO / "target" / "grades" / "grades.json").read_text()) if grade.returncode == 0 else {}
    solved, unsolved = grades.get(STUDENTS[2], {}), grades.get(NO_SOLUTIONS, {})
    if not solved or solved["points"] != solved["max_points"] or unsolved.get("points") != 0:
        fail(f"make grade on the collected notebooks: {grade.stdout[-1500:]}{grade.stderr[-500:]}")
    ok(f"make grade on the collected notebooks: {STUDENTS[2]} {solved['points']}/{solved['max_points']}, "
       f"{NO_SOLUTIONS} 0/{unsolved['max_points']}")


async def survives_restart():
    for name in (STUDENTS[0], STUDENTS[4]):
        st = Student(name)
        listing = await st.fetch("GET", "/api/contents/chapters")
        if not any(e["name"] == f"{LOAD_CHAPTER}.ipynb" for e in listing["content"]):
            fail(f"{name}: their server does not list their chapters after the hub's restart")
    if await server_state(STUDENTS[4]) != "ready":
        fail("the restarted hub does not know the running servers")
    ok("the hub stopped and started again: the students' servers kept running and answer through it")


async def culling_phase():
    await asyncio.gather(*(api("DELETE", f"/users/{n}/server", ok_codes=(202, 204, 400)) for n in STUDENTS))
    await asyncio.gather(*(wait_state(n, "stopped", 120) for n in STUDENTS))
    name = STUDENTS[2]
    await start_server(name)
    await wait_state(name, "ready", 120)
    st = Student(name)
    await st.fetch("POST", "/api/kernels", {"name": "java"})
    t0 = time.monotonic()
    while await st.fetch("GET", "/api/kernels"):
        if time.monotonic() - t0 > 120:
            fail(f"{name}'s idle kernel was not stopped within 120 s")
        await asyncio.sleep(2)
    kernel_s = time.monotonic() - t0
    ok(f"{name}: an idle kernel was stopped after {kernel_s:.0f} s (cull_idle_timeout 20 s)")
    while await server_state(name) != "stopped":
        if time.monotonic() - t0 > 240:
            fail(f"{name}'s idle server did not stop within 240 s")
        await asyncio.sleep(2)
    ok(f"{name}: the idle server then shut down and the hub marked it stopped ({time.monotonic() - t0:.0f} s)")
    report["culling"] = {"idle_timeout_s": 20, "kernel_stopped_after_s": round(kernel_s),
                         "server_stopped_after_s": round(time.monotonic() - t0)}


def main():
    if os.geteuid() != 0:
        fail("needs root: it makes accounts and runs the hub, which starts servers as those accounts")
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    shutil.rmtree(ROOT, ignore_errors=True)
    wall = time.monotonic()
    hub = None
    try:
        accounts()
        sh(sys.executable, str(REPO / "scripts" / "classroom.py"), "setup", str(ROOT), "1g")
        (ROOT / "hub" / "test_config.py").write_text(
            "# The test's own service: starts and stops servers and talks to them (never in a real classroom).\n"
            "c.JupyterHub.services.append({'name': 'classroom-test', 'api_token': %r})\n"
            "c.JupyterHub.load_roles.append({'name': 'classroom-test', 'services': ['classroom-test'], 'scopes': "
            "['servers', 'access:servers', 'list:users', 'read:users', 'read:servers']})\n"
            % SERVICE_TOKEN)
        os.chmod(ROOT / "hub" / "test_config.py", 0o600)
        hub = start_hub(3600, "hub.log")
        ok(f"the hub answers on {HUB} (PAM logins, group {GROUP})")
        print("== browser", flush=True)
        asyncio.run(browser_phase())
        print("== load and faults", flush=True)
        victims = asyncio.run(load_phase())
        asyncio.run(recovery_phase(victims))
        report["hub_peak_mib"] = round(peak_kib(hub.pid) / 1024, 1)
        report["proxy_peak_mib"] = round(peak_kib(proxy_pid()) / 1024, 1)
        ok(f"peak memory: hub {report['hub_peak_mib']} MiB, proxy {report['proxy_peak_mib']} MiB")
        print("== teacher", flush=True)
        teacher_phase()
        print("== restart and culling", flush=True)
        stop_hub(hub)
        hub = start_hub(20, "hub-culling.log")
        asyncio.run(survives_restart())
        asyncio.run(culling_phase())
    finally:
        if hub is not None and hub.poll() is None:
            stop_hub(hub)
        for name in STUDENTS:
            subprocess.run(["pkill", "-KILL", "-u", name, "-f", "jupyterhub-singleuser|kernel.jar"], capture_output=True)
        remove_accounts()
        shutil.rmtree(ROOT, ignore_errors=True)
        report["wall_seconds"] = round(time.monotonic() - wall)
        (OUT / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"classroom test: passed in {report['wall_seconds']} s (report {OUT / 'report.json'})")


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as e:
        fail(f"{' '.join(map(str, e.cmd))} exited with {e.returncode}")
