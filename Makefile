# Every entry point of the project. `make train` and `make test` do all set-up on a fresh machine
# (Java 17 + Maven): Maven fetches the dependencies, the data is downloaded on first use.

SHELL := /bin/bash
MVN ?= mvn -B -q
JAR := target/gpt.jar
PRESET ?= cpu
RUN ?= runs/$(PRESET)
# Measured fastest on CPU (README, "Speed"): one OpenMP thread, so ND4J's and OpenBLAS's threads do not compete.
export OMP_NUM_THREADS ?= 1
# OpenBLAS's kernels for ND4J's products (OPENBLAS_CORETYPE). ND4J's OpenBLAS 0.3.19 does not know CPUs newer than
# it and falls back to a slow generic kernel on them (2.6x slower products on an AMD EPYC, 3x on an Intel Xeon:
# docs/BENCHMARKS.md), so a core type is named here, unless the environment or the command line names one:
# - Haswell's where the CPU has AVX2 and FMA (all they need; scripts/openblas-coretype.sh): the default, and what
#   `make test` runs on;
# - for the jobs in BLAS_JOBS, the one `gpt blas` chose on this CPU: Haswell's unless kernels whose products all
#   checked correct here are at least 10% faster (SkylakeX's on some AVX-512 CPUs). It runs once per CPU, about half
#   a minute, and its choice is kept in target/openblas/ (`make openblas` checks again); OPENBLAS_CHOICE=no skips it.
OPENBLAS_CHOICE ?= yes
BLAS_JOBS := train sample bench compare notebooks html notebook-server classroom student-test grade browser-test
CPU_KEY := $(shell grep -m2 -e '^model name' -e '^flags' /proc/cpuinfo 2>/dev/null | md5sum | cut -c1-12)
BLAS_CHOICE := target/openblas/$(CPU_KEY).mk
DEFAULT_CORETYPE := $(shell sh scripts/openblas-coretype.sh 2>/dev/null)
ifeq ($(origin OPENBLAS_CORETYPE),undefined)
ifneq ($(DEFAULT_CORETYPE),)
export OPENBLAS_CORETYPE := $(DEFAULT_CORETYPE)
ifeq ($(OPENBLAS_CHOICE),yes)
ifneq ($(filter $(BLAS_JOBS),$(MAKECMDGOALS)),)
-include $(BLAS_CHOICE)
endif
endif
endif
endif
BASE_CORETYPE := $(if $(filter $(BLAS_CHOICE),$(MAKEFILE_LIST)),$(DEFAULT_CORETYPE),$(OPENBLAS_CORETYPE))
# Tests and CI read the shared copy of the data when it is there instead of downloading it.
SHARED_DATA := $(abspath ../shared/data/tinyshakespeare.txt)
ifneq ($(wildcard $(SHARED_DATA)),)
export GPT_DATA_URL ?= file://$(SHARED_DATA)
endif
JAVA ?= java
JAVA_OPTS ?= -XX:+UseSerialGC

# Jupyter: the project's Java kernel (kernel/) installed into a project-local Jupyter path, so nothing is written to
# the user's home. Debian's jupyter-nbconvert and jupyter-client run it (see README, "Notebooks").
JUPYTER ?= /usr/bin/jupyter
JUPYTER_DIR := $(abspath target/jupyter)
JUPYTER_ENV := JUPYTER_PATH=$(JUPYTER_DIR)/share JUPYTER_DATA_DIR=$(JUPYTER_DIR)/data \
	JUPYTER_RUNTIME_DIR=$(JUPYTER_DIR)/runtime JUPYTER_CONFIG_DIR=$(JUPYTER_DIR)/config
KERNEL_DIR := $(JUPYTER_DIR)/share/kernels/java
KERNEL_JAR := kernel/target/kernel.jar
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
NOTEBOOK_OUT := target/notebooks
# Chapters that train read GPT_MAX_ITERS (unset: the lecture's full settings). CI sets a short run.
NOTEBOOK_TIMEOUT ?= 3600
export GPT_MAX_ITERS

# Student copies sit beside notebooks/, where they run as they are (../target/gpt.jar, ../data).
STUDENT_OUT := student
STUDENT_RUN := target/student-run
HTML_OUT := target/html
EXECUTED := $(NOTEBOOK_OUT)/.executed
PORT ?= 8888
# Empty: the server makes a random token and prints the URL with it.
NOTEBOOK_TOKEN ?=
# 0.0.0.0 inside a container, so the published port reaches the server.
NOTEBOOK_IP ?= 127.0.0.1

.PHONY: help deps build train sample test openblas clean kernel notebooks compare bench student student-test grade grade-test html notebook-server browser-test docker-lint docker-test classroom classroom-packages classroom-users classroom-status classroom-collect classroom-test

help:
	@echo "make train    build, download Tiny Shakespeare, train the '$(PRESET)' preset into $(RUN), print a sample"
	@echo "make test     run all tests"
	@echo "make sample   sample from $(RUN) (PROMPT=..., TOKENS=...)"
	@echo "make build    build $(JAR)"
	@echo "make openblas check which OpenBLAS kernels multiply correctly and fastest on this CPU (jobs use its choice)"
	@echo "make kernel   build the Java Jupyter kernel and install it into $(JUPYTER_DIR)"
	@echo "make notebooks  execute every chapter notebook into $(NOTEBOOK_OUT) (GPT_MAX_ITERS=N for short runs)"
	@echo "make compare  train every lecture stage and print our losses beside the lecture's"
	@echo "make bench    training/sampling speed and memory beside PyTorch (CONFIGS=T,A,B; JSON in target/bench)"
	@echo "make student  student copies of the notebooks, each solution replaced by a stub, into $(STUDENT_OUT)/"
	@echo "make student-test  execute the student copies: every exercise's test fails with its message, nothing else"
	@echo "make grade SUBMISSIONS=DIR  run each student's notebooks (DIR/NAME/*.ipynb), points per exercise and student"
	@echo "make grade-test  make grade on made-up submissions (solutions, stubs, rewritten tests, a broken file), checked"
	@echo "make html     the executed notebooks as a static HTML book in $(HTML_OUT) (index.html)"
	@echo "make notebook-server  Jupyter with the Java kernel on http://127.0.0.1:$(PORT) (PORT=, NOTEBOOK_TOKEN=)"
	@echo "make classroom  JupyterHub for a class on http://$(CLASSROOM_IP):$(CLASSROOM_PORT) (as root; README, \"Teaching a class\")"
	@echo "make classroom-users STUDENTS=\"alice bob\"  accounts for the class (group $(CLASSROOM_GROUP)), passwords printed"
	@echo "make classroom-status  who has a server;  make classroom-collect  every student's chapters into $(CLASSROOM_DIR)/collected"
	@echo "make classroom-test  the hub in headless Chromium, 10 students at once, killed kernels and servers (CI runs it)"
	@echo "make docker-test      build the images with buildah on a local Debian base, train and sample in them"
	@echo "make docker-lint      check the Dockerfiles (dockerfile-utils from npm)"
	@echo "make browser-test     open the served notebook and the HTML book in headless Chromium (screenshots in target/browser)"
	@echo "make clean    remove build outputs (not data/ or runs/)"

$(JAR): pom.xml $(shell find src/main -type f 2>/dev/null)
	$(MVN) package -DskipTests

build: $(JAR)

# Every Maven dependency and plugin, downloaded ahead (the Docker images do this in a layer of their own).
deps:
	$(MVN) dependency:resolve dependency:resolve-plugins
	$(MVN) -f kernel/pom.xml dependency:resolve dependency:resolve-plugins

# The main job: the nanoGPT CPU-sized model (816,705 parameters, 2000 steps). --force: `make train` always
# starts a fresh run in $(RUN); use `java -jar $(JAR) train --resume --out $(RUN)` to continue one.
train: $(JAR)
	$(JAVA) $(JAVA_OPTS) -jar $(JAR) train --preset $(PRESET) --out $(RUN) --force $(ARGS)

PROMPT ?=
TOKENS ?= 500
sample: $(JAR)
	$(JAVA) $(JAVA_OPTS) -jar $(JAR) sample --ckpt $(RUN) --prompt "$(PROMPT)" --tokens $(TOKENS)

# Tests run on the default kernels (above), whatever a job would choose.
test: OPENBLAS_CORETYPE := $(BASE_CORETYPE)
test:
	$(MVN) test
	$(MVN) -f kernel/pom.xml test

# `gpt blas` on this CPU (every candidate core type checked and timed in a JVM of its own), its choice kept where the
# jobs read it. Made when a job first needs it; `make openblas` checks again.
$(BLAS_CHOICE): | $(JAR)
	@mkdir -p $(dir $@)
	$(JAVA) $(JAVA_OPTS) -jar $(JAR) blas --write $(@:.mk=.txt)
	@echo "export OPENBLAS_CORETYPE := $$(cat $(@:.mk=.txt))" > $@

openblas: $(JAR)
	rm -f $(BLAS_CHOICE)
	$(MAKE) $(BLAS_CHOICE)

$(KERNEL_JAR): kernel/pom.xml $(shell find kernel/src/main -type f 2>/dev/null)
	$(MVN) -f kernel/pom.xml package -DskipTests

# kernel.json: the kernel runs with the launcher's fast settings (one OpenMP thread, serial GC) as defaults.
kernel: $(KERNEL_JAR)
	mkdir -p $(KERNEL_DIR)
	cp $(KERNEL_JAR) $(KERNEL_DIR)/kernel.jar
	printf '%s\n' '{' \
	  '  "argv": ["java", "-XX:+UseSerialGC", "-Xss4m", "-Djava.awt.headless=true", "-jar", "{resource_dir}/kernel.jar", "{connection_file}"],' \
	  '  "display_name": "Java", "language": "java", "interrupt_mode": "message",' \
	  '  "env": {"OMP_NUM_THREADS": "1"}' \
	  '}' > $(KERNEL_DIR)/kernel.json
	@$(JUPYTER_ENV) $(JUPYTER) kernelspec list

# Executes the chapters in order into $(NOTEBOOK_OUT) (the sources in notebooks/ keep no outputs), stopping at the
# first cell that fails, then tabulates what each chapter recorded beside the lecture's numbers.
notebooks: $(JAR) kernel
	rm -rf $(NOTEBOOK_OUT) && mkdir -p $(NOTEBOOK_OUT)/results
	@for nb in $(NOTEBOOKS); do \
	  start=$$(date +%s); echo "== $$nb"; \
	  GPT_RESULTS_DIR=$(abspath $(NOTEBOOK_OUT)/results) $(JUPYTER_ENV) $(JUPYTER) nbconvert --to notebook --execute \
	    --ExecutePreprocessor.kernel_name=java --ExecutePreprocessor.timeout=$(NOTEBOOK_TIMEOUT) \
	    --output-dir $(NOTEBOOK_OUT) $$nb || exit 1; \
	  echo "== $$nb: $$(( $$(date +%s) - start )) s"; \
	done
	python3 scripts/notebook_tools.py check-executed $(NOTEBOOK_OUT) solutions
	@if ls $(NOTEBOOK_OUT)/results/*.json > /dev/null 2>&1; then \
	  $(JAVA) $(JAVA_OPTS) -jar $(JAR) compare --notebooks $(NOTEBOOK_OUT)/results; \
	else echo "(these chapters trained no lecture stage: nothing to compare)"; fi
	touch $(EXECUTED)

# Executed notebooks, re-made when a notebook or the library changed.
$(EXECUTED): $(NOTEBOOKS) $(JAR) $(KERNEL_JAR)
	$(MAKE) notebooks

# Student copies: each exercise's solution (between // BEGIN SOLUTION and // END SOLUTION, nbgrader's markers)
# replaced by a stub, outputs cleared; they run in $(STUDENT_OUT)/ as the chapters do in notebooks/.
student:
	rm -rf $(STUDENT_OUT)
	python3 scripts/notebook_tools.py student $(STUDENT_OUT) $(NOTEBOOKS)

# The student copies executed (errors allowed): every test cell must fail with its exercise's message, and every
# other cell must run. (With the solutions, `make notebooks` runs every test cell, and each must pass.)
student-test: $(JAR) kernel student
	rm -rf $(STUDENT_RUN) && mkdir -p $(STUDENT_RUN)/results
	@for nb in $(STUDENT_OUT)/[0-9]*.ipynb; do \
	  GPT_RESULTS_DIR=$(abspath $(STUDENT_RUN)/results) $(JUPYTER_ENV) $(JUPYTER) nbconvert --to notebook --execute \
	    --allow-errors --ExecutePreprocessor.kernel_name=java --ExecutePreprocessor.timeout=$(NOTEBOOK_TIMEOUT) \
	    --output-dir $(STUDENT_RUN) $$nb > /dev/null 2>&1 || { echo "error: $$nb did not run"; exit 1; }; \
	done
	python3 scripts/notebook_tools.py check-executed $(STUDENT_RUN) student

# Grading: SUBMISSIONS holds one folder per student with their notebooks; each runs as a student copy does, and
# each test cell that passes earns its points. A table, and target/grades/grades.json.
grade: $(JAR) kernel
	@if [ -z "$(SUBMISSIONS)" ]; then echo "error: make grade SUBMISSIONS=DIR (DIR/NAME/*.ipynb for each student)"; exit 2; fi
	GPT_RESULTS_DIR=$(abspath target/grades/results) $(JUPYTER_ENV) python3 scripts/notebook_tools.py grade \
	  $(SUBMISSIONS) target/grades

# make grade checked on made-up submissions of two quick chapters: full marks for the solutions, none for the
# stubs or for tests rewritten to pass, a line for a broken file.
grade-test: $(JAR) kernel
	rm -rf target/grade-test
	GPT_RESULTS_DIR=$(abspath target/grade-test/results) $(JUPYTER_ENV) python3 scripts/notebook_tools.py grade-test \
	  target/grade-test notebooks/02-data-and-tokenization.ipynb notebooks/06-mathematical-trick.ipynb

# The executed chapters as static HTML pages (plots embedded) with an index page.
html: $(EXECUTED)
	rm -rf $(HTML_OUT) && mkdir -p $(HTML_OUT)
	$(JUPYTER_ENV) $(JUPYTER) nbconvert --to html --output-dir $(HTML_OUT) $(NOTEBOOK_OUT)/[0-9]*.ipynb
	python3 scripts/notebook_tools.py index $(HTML_OUT)
	@echo "open $(abspath $(HTML_OUT))/index.html"

# A classroom server on this machine: the project folder, the Java kernel (Debian's jupyter-notebook).
notebook-server: $(JAR) kernel
	$(JUPYTER_ENV) $(JUPYTER) notebook --no-browser --ip=$(NOTEBOOK_IP) --port=$(PORT) --notebook-dir=$(CURDIR) \
	  $(if $(NOTEBOOK_TOKEN),--NotebookApp.token=$(NOTEBOOK_TOKEN)) $(if $(filter 0,$(shell id -u)),--allow-root)

# A class on one machine: JupyterHub (Debian's), each student logging in with their own account (PAM) to a server of
# their own, as that account, in ~/gpt with their own copy of the chapters without solutions. Runs as root (the hub
# starts servers as other users); classroom/jupyterhub_config.py says what is where and reads these settings.
CLASSROOM_DIR ?= /srv/gpt-classroom
# Debian's Python, whose packages (JupyterHub, tornado) the classroom scripts use, whatever python3 is first on PATH.
HUB_PYTHON ?= /usr/bin/python3
CLASSROOM_IP ?= 127.0.0.1
CLASSROOM_PORT ?= 8000
# The hub's own API and the proxy's API, on 127.0.0.1 (change them to run two hubs on one machine).
CLASSROOM_HUB_PORT ?= 8081
CLASSROOM_PROXY_API_PORT ?= 8001
CLASSROOM_GROUP ?= gpt-class
# Teachers: accounts with the hub's admin page (who is running); they need not be in the group.
CLASSROOM_ADMINS ?=
# Per student: training threads, the kernel's heap, and seconds idle before a kernel (then its server) is stopped.
CLASSROOM_THREADS ?= 1
CLASSROOM_HEAP ?= 2g
CLASSROOM_CULL_IDLE ?= 3600
# GPT_MAX_ITERS for the whole class (empty: the lecture's full training runs).
CLASSROOM_MAX_ITERS ?= $(GPT_MAX_ITERS)
CLASSROOM_ENV = CLASSROOM_DIR=$(CLASSROOM_DIR) CLASSROOM_IP=$(CLASSROOM_IP) CLASSROOM_PORT=$(CLASSROOM_PORT) \
	CLASSROOM_HUB_PORT=$(CLASSROOM_HUB_PORT) CLASSROOM_PROXY_API_PORT=$(CLASSROOM_PROXY_API_PORT) \
	CLASSROOM_GROUP=$(CLASSROOM_GROUP) CLASSROOM_ADMINS="$(CLASSROOM_ADMINS)" CLASSROOM_THREADS=$(CLASSROOM_THREADS) \
	CLASSROOM_CULL_IDLE=$(CLASSROOM_CULL_IDLE) CLASSROOM_MAX_ITERS=$(CLASSROOM_MAX_ITERS)

classroom-packages:
	scripts/install-system-packages.sh classroom

# NODE_PATH: Debian's configurable-http-proxy finds its modules there under any node (NodeSource's too).
classroom: classroom-packages $(JAR) kernel student
	$(HUB_PYTHON) scripts/classroom.py setup $(CLASSROOM_DIR) $(CLASSROOM_HEAP)
	@echo "classroom: http://$(CLASSROOM_IP):$(CLASSROOM_PORT)/  (students log in with their account; Ctrl-C stops the hub, not their servers)"
	cd $(CLASSROOM_DIR)/hub && $(CLASSROOM_ENV) NODE_PATH=/usr/share/nodejs jupyterhub -f $(CURDIR)/classroom/jupyterhub_config.py

classroom-users:
	$(HUB_PYTHON) scripts/classroom.py users $(CLASSROOM_GROUP) $(STUDENTS)

classroom-status:
	CLASSROOM_HUB_PORT=$(CLASSROOM_HUB_PORT) $(HUB_PYTHON) scripts/classroom.py status $(CLASSROOM_DIR)

# Into COLLECT (default $(CLASSROOM_DIR)/collected), one folder per student; CHAPTERS="05-training-loop" for some only.
COLLECT ?= $(CLASSROOM_DIR)/collected
classroom-collect:
	CLASSROOM_HUB_PORT=$(CLASSROOM_HUB_PORT) $(HUB_PYTHON) scripts/classroom.py collect $(CLASSROOM_DIR) $(COLLECT) $(CHAPTERS)

# The hub for real on 127.0.0.1, with accounts made for the test: two students in headless Chromium, ten at once,
# faults, culling (scripts/classroom_test.py says what is checked). Root, and Debian's packages, which it installs;
# Chromium is driven by puppeteer-core (npm), which uses Debian's browser and downloads none.
PUPPETEER := target/tools/node_modules/puppeteer-core/package.json
$(PUPPETEER):
	npm install --silent --no-audit --no-fund --prefix target/tools puppeteer-core@24.43.1
classroom-test: classroom-packages $(JAR) kernel student $(PUPPETEER)
	scripts/install-system-packages.sh browser
	$(HUB_PYTHON) scripts/classroom_test.py

browser-test: $(EXECUTED) html
	bash scripts/browser-test.sh

# Dockerfile syntax and instruction checks with dockerfile-utils (npm; the linter of VS Code's Docker support).
DOCKERFILE_UTILS := target/tools/node_modules/.bin/dockerfile-utils
$(DOCKERFILE_UTILS):
	npm install --silent --no-audit --no-fund --prefix target/tools dockerfile-utils@0.16.3
# Builds the images with buildah on a local Debian base (no Docker engine needed) and runs them: a short training
# run and a sample in the trainer image, a chapter in the notebook image (scripts/docker-test.sh says what is checked).
docker-test: docker-lint student
	bash scripts/docker-test.sh

docker-lint: $(DOCKERFILE_UTILS)
	@for f in docker/Dockerfile*; do $(DOCKERFILE_UTILS) lint $$f || exit 1; echo "$$f: ok"; done

# Every lecture stage at the lecture's settings (about half an hour on 2 cores; see docs/RESULTS.md).
compare: $(JAR)
	$(JAVA) $(JAVA_OPTS) -jar $(JAR) compare $(ARGS)

# Training and sampling speed and peak memory beside the PyTorch reference (docs/BENCHMARKS.md); 12-16 minutes on the 2-core
# machines here (two rounds, 2026-12-06).
# Installs Debian's PyTorch first (scripts/install-system-packages.sh bench); CONFIGS=T,A for the quick ones.
CONFIGS ?= T,A,B
bench: $(JAR)
	-scripts/install-system-packages.sh bench   # without it (no root, no apt) the Java side still runs, and says so
	$(JAVA) $(JAVA_OPTS) -jar $(JAR) bench --config $(CONFIGS) $(ARGS)

clean:
	$(MVN) clean
	$(MVN) -f kernel/pom.xml clean
