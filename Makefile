# Every entry point of the project. `make train` and `make test` do all set-up on a fresh machine
# (Java 17 + Maven): Maven fetches the dependencies, the data is downloaded on first use.

SHELL := /bin/bash
MVN ?= mvn -B -q
JAR := target/gpt.jar
PRESET ?= cpu
RUN ?= runs/$(PRESET)
# Measured fastest on CPU (README, "Speed"): one OpenMP thread, so ND4J's and OpenBLAS's threads do not compete.
export OMP_NUM_THREADS ?= 1
# Tests and CI read the shared copy of the data when it is there instead of downloading it.
SHARED_DATA := $(abspath ../shared/data/tinyshakespeare.txt)
ifneq ($(wildcard $(SHARED_DATA)),)
export GPT_DATA_URL ?= file://$(SHARED_DATA)
endif
JAVA ?= java
JAVA_OPTS ?= -XX:+UseSerialGC

.PHONY: help build train sample test clean

help:
	@echo "make train    build, download Tiny Shakespeare, train the '$(PRESET)' preset into $(RUN), print a sample"
	@echo "make test     run all tests"
	@echo "make sample   sample from $(RUN) (PROMPT=..., TOKENS=...)"
	@echo "make build    build $(JAR)"
	@echo "make clean    remove build outputs (not data/ or runs/)"

$(JAR): pom.xml $(shell find src/main -type f 2>/dev/null)
	$(MVN) package -DskipTests

build: $(JAR)

# The main job: the nanoGPT CPU-sized model (816,705 parameters, 2000 steps). --force: `make train` always
# starts a fresh run in $(RUN); use `java -jar $(JAR) train --resume --out $(RUN)` to continue one.
train: $(JAR)
	$(JAVA) $(JAVA_OPTS) -jar $(JAR) train --preset $(PRESET) --out $(RUN) --force $(ARGS)

PROMPT ?=
TOKENS ?= 500
sample: $(JAR)
	$(JAVA) $(JAVA_OPTS) -jar $(JAR) sample --ckpt $(RUN) --prompt "$(PROMPT)" --tokens $(TOKENS)

test:
	$(MVN) test

clean:
	$(MVN) clean
