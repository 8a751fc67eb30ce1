#!/usr/bin/env python3
"""Small notebook chores for the Makefile, with Python's standard library only (Debian's python3; no PyPI).

  notebook_tools.py check-student DIR SOURCES...  the student copies in DIR keep every exercise and no solution
  notebook_tools.py index DIR                     writes DIR/index.html, linking the chapter pages in DIR
"""
import html
import json
import pathlib
import sys


def cells_tagged(nb, tag):
    return [c for c in nb["cells"] if tag in c.get("metadata", {}).get("tags", [])]


def check_student(out_dir, sources):
    problems = []
    for src in sources:
        src = pathlib.Path(src)
        copy = pathlib.Path(out_dir) / src.name
        if not copy.exists():
            problems.append(f"{copy}: missing")
            continue
        original, student = json.loads(src.read_text()), json.loads(copy.read_text())
        if cells_tagged(student, "solution"):
            problems.append(f"{copy}: still has solution cells")
        if len(cells_tagged(student, "exercise")) != len(cells_tagged(original, "exercise")):
            problems.append(f"{copy}: lost exercise cells")
        if not cells_tagged(original, "solution"):
            problems.append(f"{src}: has no solution cell (every chapter ends with exercises)")
        removed = len(original["cells"]) - len(student["cells"])
        print(f"{copy}: {len(cells_tagged(student, 'exercise'))} exercise(s), {removed} solution cell(s) removed")
    if problems:
        sys.exit("error: " + "; ".join(problems))


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
        source = pathlib.Path("notebooks") / (page.stem + ".ipynb")
        name = title(json.loads(source.read_text()), page.stem) if source.exists() else page.stem
        items.append(f'  <li><a href="{html.escape(page.name)}">{html.escape(name)}</a></li>')
    (out / "index.html").write_text(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Let's build GPT, in Java</title>\n"
        "<style>body{font-family:sans-serif;max-width:46em;margin:3em auto;line-height:1.5}li{margin:.4em 0}</style>\n"
        "</head>\n<body>\n<h1>Let's build GPT, in Java</h1>\n"
        "<p>Andrej Karpathy's lecture rebuilt on Deeplearning4j, chapter by chapter, executed with their outputs.</p>\n"
        "<ul style=\"list-style:none;padding:0\">\n" + "\n".join(items) + "\n</ul>\n</body>\n</html>\n")
    print(f"{out / 'index.html'}: {len(pages)} chapters")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "check-student":
        check_student(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 3 and sys.argv[1] == "index":
        index(sys.argv[2])
    else:
        sys.exit(__doc__)
