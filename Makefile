# VecShard — build, run and test entry points.
#
#   make run     install missing Debian packages, build release, start a node on the embedded defaults
#   make test    same setup, then unit tests (swift test) and integration tests (pytest, real processes)
#   make build   release build only (.build/release/vecshard-server)
#   make bench-resp   RESP throughput/RSS benchmark against redis-server and Redis Stack (bench/resp.sh)
#   make image   container image with podman (prebuilt static binary; see Dockerfile)
#   make fuzz    coverage-guided fuzzing of the command path for FUZZ_SECONDS (libFuzzer + AddressSanitizer)
#   make clean   remove build outputs (.build, .build-static); `make distclean` also removes .venv
#
# Works on a fresh Debian 12 with only the Swift toolchain installed (as root, or with sudo).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

# The Swift toolchain may be installed but not on PATH (e.g. /opt/swift/usr/bin).
SWIFT_DIR ?= /opt/swift/usr/bin
ifeq ($(shell command -v swift 2>/dev/null),)
export PATH := $(SWIFT_DIR):$(PATH)
endif

SWIFT   ?= swift
PYTHON  ?= python3
VENV    := .venv
BIN     := $(CURDIR)/.build/release/vecshard-server
ARGS    ?=
# Debian packages the build, the tests and the benchmarks need.
APT_PACKAGES := libuv1-dev liburing-dev pkg-config redis-tools python3 python3-venv libhiredis-dev
# Debian's redis-server is the oracle of the strings/keyspace differential test and the anchor of bench/resp.sh; it is
# installed without starting its service (a system redis on 6379 would take `make run`'s port).
ORACLE_APT_PACKAGES := redis-server

.PHONY: all run test build unit integration deps oracle-deps bench-deps venv bench-resp image fuzz clean distclean

all: build

# Install only what is missing; `apt-get update` only when something is.
define apt_install
	missing=""; \
	for p in $(1); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "make: installing Debian packages:$$missing"; \
	  $$sudo apt-get update -qq; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps:
	@$(call apt_install,$(APT_PACKAGES))
	@command -v $(SWIFT) >/dev/null || { echo "make: swift not found (looked on PATH and in $(SWIFT_DIR))" >&2; exit 1; }

# policy-rc.d answering 101 tells the package's scripts not to start services (only while we install, and only if
# the machine has none of its own).
oracle-deps: deps
	@if ! command -v redis-server >/dev/null; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  guard=""; [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' | $$sudo tee /usr/sbin/policy-rc.d >/dev/null; $$sudo chmod +x /usr/sbin/policy-rc.d; guard=1; }; \
	  rc=0; ( $(call apt_install,$(ORACLE_APT_PACKAGES)) ) || rc=$$?; \
	  [ -z "$$guard" ] || $$sudo rm -f /usr/sbin/policy-rc.d; \
	  exit $$rc; \
	fi

bench-deps: oracle-deps

# Python virtualenv for the integration tests; rebuilt when requirements change or the venv is broken.
venv: $(VENV)/.installed
$(VENV)/.installed: integration/requirements.txt | deps
	@if ! $(VENV)/bin/python -c '' 2>/dev/null; then rm -rf $(VENV); $(PYTHON) -m venv $(VENV); fi
	$(VENV)/bin/pip install -q --disable-pip-version-check -r integration/requirements.txt
	@touch $@

# The Swift runtime is linked statically: only the parts we use are mapped (an idle node's RSS drops from 12.1 to
# 9.5 MiB) and the same binary serves the container image.
build: deps
	$(SWIFT) build -c release --static-swift-stdlib

run: build
	exec $(BIN) $(ARGS)

unit: deps
	$(SWIFT) test

integration: build venv oracle-deps
	VECSHARD_BIN=$(BIN) VECSHARD_STATIC_BIN=$(BIN) $(VENV)/bin/pytest -q integration

# Unit and integration tests both run; the target fails if either failed.
test: build venv oracle-deps
	@rc=0; \
	echo "== unit tests: swift test"; \
	$(SWIFT) test || rc=1; \
	echo "== integration tests: pytest integration (VECSHARD_BIN=$(BIN))"; \
	VECSHARD_BIN=$(BIN) VECSHARD_STATIC_BIN=$(BIN) $(VENV)/bin/pytest -q integration || rc=1; \
	exit $$rc

bench-resp: bench-deps build
	VECSHARD_BIN=$(BIN) bench/resp.sh
	bench/assemble-results.sh

# Runtime image from a static-stdlib binary built on the host (no swift builder image needed).
image: build
	podman build --pull=never --network host --format docker \
	  --build-arg BINARY_SOURCE=prebuilt --build-arg PREBUILT_BINARY=.build/release/vecshard-server \
	  -t vecshard .

# Coverage-guided fuzzing of the whole command path (libFuzzer + AddressSanitizer; Sources/vecshard-fuzz). Runs for
# FUZZ_SECONDS (default 600) from Tests/fuzz/seeds with its dictionary; findings land in $(FUZZ_DIR)/crashes.
# A finding replays without the sanitizers: `swift build --product vecshard-fuzz && .build/debug/vecshard-fuzz FILE`.
FUZZ_SECONDS ?= 600
FUZZ_DIR     ?= /var/tmp/vecshard-fuzz
fuzz: deps
	$(SWIFT) build -c release --scratch-path .build-fuzz --product vecshard-fuzz -Xswiftc -sanitize=fuzzer,address \
	  -Xswiftc -DFUZZING -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
	mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/crashes
	cp -n Tests/fuzz/seeds/* $(FUZZ_DIR)/corpus/
	cd $(FUZZ_DIR) && ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 $(CURDIR)/.build-fuzz/release/vecshard-fuzz \
	  -dict=$(CURDIR)/Tests/fuzz/commands.dict -max_len=2048 -timeout=10 -rss_limit_mb=4096 \
	  -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(FUZZ_DIR)/crashes/ -print_final_stats=1 $(FUZZ_DIR)/corpus

clean:
	rm -rf .build .build-static .build-fuzz bench/out

distclean: clean
	rm -rf $(VENV)
