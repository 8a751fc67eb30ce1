#!/usr/bin/env python3
"""Notebook chores for the Makefile, with Python's standard library only (Debian's python3; no PyPI).

  notebook_tools.py student OUT SOURCES...        student copies: each solution replaced by a stub, outputs cleared
  notebook_tools.py check-executed DIR MODE       the executed notebooks in DIR: MODE "solutions", no cell failed;
                                                  MODE "student", every test cell failed with its exercise's message
                                                  and no other cell failed
  notebook_tools.py grade SUBMISSIONS OUT         runs each student's notebooks, scores the test cells: a table, and
                                                  OUT/grades.json
  notebook_tools.py grade-test OUT CHAPTERS...    grade() on made-up submissions (solutions, stubs, rewritten tests,
                                                  a broken file), each total checked
  notebook_tools.py index DIR                     writes DIR/index.html, linking the chapter pages in DIR

Exercises are in nbgrader's format (so a teacher with nbgrader can use the chapters as they are): a locked prompt
cell, an answer cell with metadata nbgrader.solution true whose solution sits between "// BEGIN SOLUTION" and
"// END SOLUTION", and a locked test cell with nbgrader.grade true and its points, which throws an AssertionError
with a message when the answer is wrong or missing.
"""
import html
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

BEGIN, END, STUB = "// BEGIN SOLUTION", "// END SOLUTION", "// YOUR CODE HERE"


def nbgrader(cell):
    meta = cell.get("metadata")
    found = meta.get("nbgrader") if isinstance(meta, dict) else None
    return found if isinstance(found, dict) else {}


def is_test(cell):
    return cell["cell_type"] == "code" and nbgrader(cell).get("grade") is True


def is_answer(cell):
    return cell["cell_type"] == "code" and nbgrader(cell).get("solution") is True


def source(cell):
    return "".join(cell["source"])


def set_source(cell, text):
    lines = text.split("\n")
    cell["source"] = [l + "\n" for l in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def stub(text, where):
    """The answer cell's text with each BEGIN/END SOLUTION region replaced by the stub line."""
    out, inside = [], False
    for line in text.split("\n"):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                sys.exit(f"error: {where}: {BEGIN} inside a solution")
            inside = True
            out.append(line[:len(line) - len(line.lstrip())] + STUB)
        elif marker == END:
            if not inside:
                sys.exit(f"error: {where}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        sys.exit(f"error: {where}: {BEGIN} is never closed")
    return "\n".join(out)


def student(out_dir, sources):
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for src in map(pathlib.Path, sources):
        nb = json.loads(src.read_text())
        answers = tests = 0
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
            if is_answer(cell):
                if BEGIN not in source(cell):
                    sys.exit(f"error: {src}: answer cell {i} ({nbgrader(cell).get('grade_id')}) has no {BEGIN}")
                set_source(cell, stub(source(cell), f"{src} cell {i}"))
                answers += 1
            tests += is_test(cell)
        if answers == 0 or answers != tests:
            sys.exit(f"error: {src}: {answers} answer cells and {tests} test cells (every chapter has exercises, each"
                     " with one of each)")
        text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        if BEGIN in text or END in text:
            sys.exit(f"error: {src}: a solution marker is left outside an answer cell")
        (out / src.name).write_text(text)
        print(f"{out / src.name}: {answers} exercise(s), solutions replaced by '{STUB}'")


def errors(cell):
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def error_text(o):
    return "\n".join([o.get("ename", ""), o.get("evalue", "")] + o.get("traceback", []))


def exercise_number(cell):
    m = re.match(r"\s*// Test (\d+\.\d+)", source(cell))
    return m.group(1) if m else "?"


def check_executed(directory, mode):
    problems, checked = [], 0
    paths = sorted(pathlib.Path(directory).glob("[0-9]*.ipynb"))
    if not paths:
        sys.exit(f"error: no executed notebooks in {directory}")
    for path in paths:
        nb = json.loads(path.read_text())
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            failed = errors(cell)
            if is_test(cell) and mode == "student":
                checked += 1
                n = exercise_number(cell)
                if not failed:
                    problems.append(f"{path.name}: test {n} passed with no answer")
                elif "AssertionError" not in error_text(failed[0]) or f"{n}:" not in error_text(failed[0]):
                    problems.append(f"{path.name}: test {n} failed without its message: {error_text(failed[0])[:200]}")
            elif failed:
                problems.append(f"{path.name}: cell {i} failed: {error_text(failed[0])[:300]}")
            else:
                checked += is_test(cell)
    if problems:
        sys.exit("error: " + "\n  ".join(problems))
    what = "failed with its message" if mode == "student" else "passed"
    print(f"{directory}: {len(paths)} notebooks; every one of {checked} test cells {what}, no other cell failed")


def execute(nb_path, out_dir, env, timeout):
    cmd = ["/usr/bin/jupyter", "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
           "--ExecutePreprocessor.kernel_name=java", f"--ExecutePreprocessor.timeout={timeout}",
           "--output-dir", str(out_dir), str(nb_path)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        last = [l for l in (r.stderr or r.stdout).strip().splitlines() if l.strip()]
        return last[-1] if last else f"nbconvert exited with {r.returncode}"
    return None


def restore_tests(submitted, release):
    """Puts back each test cell as the chapter has it (as nbgrader's autograde does with locked cells), so an edited
    test grades nothing; returns the exercise numbers whose test cell the student deleted."""
    originals = {nbgrader(c).get("grade_id"): c for c in release["cells"] if is_test(c)}
    seen = set()
    for cell in submitted["cells"]:
        gid = nbgrader(cell).get("grade_id")
        if gid in originals and cell.get("cell_type") == "code":
            cell["source"] = originals[gid]["source"]
            cell.setdefault("metadata", {})["nbgrader"] = originals[gid]["metadata"]["nbgrader"]
            seen.add(gid)
    return [(exercise_number(c), nbgrader(c).get("points", 1)) for gid, c in originals.items() if gid not in seen]


def grade(submissions, out_dir):
    subs = pathlib.Path(submissions)
    if not subs.is_dir():
        sys.exit(f"error: no submissions folder {subs} (one folder per student, holding their notebooks)")
    students = sorted(p for p in subs.iterdir() if p.is_dir())
    if not students:
        sys.exit(f"error: {subs} holds no student folders")
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    timeout = env.get("NOTEBOOK_TIMEOUT", "3600")
    report = {}
    for st in students:
        report[st.name] = {"exercises": {}, "points": 0, "max_points": 0, "problems": []}
        run_dir = out / st.name
        run_dir.mkdir(parents=True, exist_ok=True)
        for nb_path in sorted(st.glob("[0-9]*.ipynb")):
            try:
                submitted = json.loads(nb_path.read_text())
                if not isinstance(submitted, dict) or not isinstance(submitted.get("cells"), list) \
                        or not all(isinstance(c, dict) for c in submitted["cells"]):
                    raise ValueError("no list of cells")
            except (ValueError, UnicodeDecodeError) as e:
                report[st.name]["problems"].append(f"{nb_path.name}: not a notebook ({e})")
                print(f"{st.name}/{nb_path.name}: does not run: not a notebook")
                continue
            release = pathlib.Path("notebooks") / nb_path.name
            if not release.exists():
                report[st.name]["problems"].append(f"{nb_path.name}: no chapter of that name in notebooks/")
                print(f"{st.name}/{nb_path.name}: not graded: no chapter of that name in notebooks/")
                continue
            missing = restore_tests(submitted, json.loads(release.read_text()))
            for n, points in missing:
                report[st.name]["problems"].append(f"{nb_path.name}: test {n} was deleted (0 points)")
                report[st.name]["exercises"][n] = {"points": 0, "of": points}
                report[st.name]["max_points"] += points
            # The notebook runs from a folder beside notebooks/, as a student copy does (../target/gpt.jar).
            with tempfile.TemporaryDirectory(dir=pathlib.Path.cwd()) as work:
                copy = pathlib.Path(work) / nb_path.name
                copy.write_text(json.dumps(submitted))
                problem = execute(copy, run_dir, env, timeout)
            if problem:
                report[st.name]["problems"].append(f"{nb_path.name}: {problem}")
                print(f"{st.name}/{nb_path.name}: does not run: {problem}")
                continue
            nb = json.loads((run_dir / nb_path.name).read_text())
            for cell in nb["cells"]:
                if is_test(cell):
                    g = nbgrader(cell)
                    points = g.get("points", 1)
                    earned = 0 if errors(cell) else points
                    report[st.name]["exercises"][exercise_number(cell)] = {"points": earned, "of": points}
                    report[st.name]["points"] += earned
                    report[st.name]["max_points"] += points
    (out / "grades.json").write_text(json.dumps(report, indent=2) + "\n")
    numbers = sorted({n for r in report.values() for n in r["exercises"]},
                     key=lambda n: tuple(int(x) for x in n.split(".")) if n != "?" else (999,))
    head = ["student"] + numbers + ["total"]
    rows = [head]
    for name, r in report.items():
        rows.append([name] + [str(r["exercises"].get(n, {}).get("points", "-")) for n in numbers]
                    + [f"{r['points']}/{r['max_points']}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
    print(f"wrote {out / 'grades.json'}")


def grade_test(out_dir, chapters):
    """make grade on made-up submissions, checked: a student with the solutions gets every point; one with the
    stubs, none; one who rewrote the tests to pass, none (the tests are restored); a broken notebook gets its
    line. Grading runs through grade() itself, as `make grade` does."""
    out = pathlib.Path(out_dir)
    subs = out / "submissions"
    for name in ("solutions", "stubs", "rewrote-tests", "broken"):
        (subs / name).mkdir(parents=True, exist_ok=True)
    for chapter in map(pathlib.Path, chapters):
        nb = json.loads(chapter.read_text())
        (subs / "solutions" / chapter.name).write_text(json.dumps(nb))
        for cell in nb["cells"]:
            if is_answer(cell):
                set_source(cell, stub(source(cell), chapter.name))
        (subs / "stubs" / chapter.name).write_text(json.dumps(nb))
        for cell in nb["cells"]:
            if is_test(cell):
                set_source(cell, f"// Test {exercise_number(cell)}: rewritten to pass\n")
        (subs / "rewrote-tests" / chapter.name).write_text(json.dumps(nb))
        (subs / "broken" / chapter.name).write_text('{"cells": [')
    grade(subs, out / "grades")
    report = json.loads((out / "grades" / "grades.json").read_text())
    full = report["solutions"]["max_points"]
    expect = {"solutions": (full, full), "stubs": (0, full), "rewrote-tests": (0, full), "broken": (0, 0)}
    wrong = [f"{n}: {report[n]['points']}/{report[n]['max_points']}, expected {p}/{m}"
             for n, (p, m) in expect.items() if (report[n]["points"], report[n]["max_points"]) != (p, m)]
    if full == 0 or len(report["broken"]["problems"]) != len(chapters):
        wrong.append(f"no points to earn ({full}) or a broken notebook without its line: {report['broken']}")
    if wrong:
        sys.exit("error: grading went wrong:\n  " + "\n  ".join(wrong))
    print(f"grade-test: solutions {full}/{full}, stubs 0, rewritten tests 0, broken notebooks named")


def title(nb, fallback):
    for c in nb["cells"]:
        if c["cell_type"] == "markdown":
            for line in "".join(c["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def index(out_dir):
    out = pathlib.Path(out_dir)
    pages = sorted(p for p in out.glob("*.html") if p.name != "index.html")
    if not pages:
        sys.exit(f"error: no chapter pages in {out}")
    items = []
    for page in pages:
        src = pathlib.Path("notebooks") / (page.stem + ".ipynb")
        name = title(json.loads(src.read_text()), page.stem) if src.exists() else page.stem
        items.append(f'  <li><a href="{html.escape(page.name)}">{html.escape(name)}</a></li>')
    (out / "index.html").write_text(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Let's build GPT, in Java</title>\n"
        "<style>body{font-family:sans-serif;max-width:46em;margin:3em auto;line-height:1.5}li{margin:.4em 0}</style>\n"
        "</head>\n<body>\n<h1>Let's build GPT, in Java</h1>\n"
        "<p>Andrej Karpathy's lecture rebuilt on Deeplearning4j, chapter by chapter, executed with their outputs.</p>\n"
        "<ul style=\"list-style:none;padding:0\">\n" + "\n".join(items) + "\n</ul>\n</body>\n</html>\n")
    print(f"{out / 'index.html'}: {len(pages)} chapters")


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "student":
        student(a[1], a[2:])
    elif len(a) == 3 and a[0] == "check-executed" and a[2] in ("student", "solutions"):
        check_executed(a[1], a[2])
    elif len(a) == 3 and a[0] == "grade":
        grade(a[1], a[2])
    elif len(a) >= 3 and a[0] == "grade-test":
        grade_test(a[1], a[2:])
    elif len(a) == 2 and a[0] == "index":
        index(a[1])
    else:
        sys.exit(__doc__)
