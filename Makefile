# SPDX-License-Identifier: GPL-3.0-or-later
#   make demo   run the localhost demo (playbooks/demo.yml)
#   make test   run the whole test suite (scripts/run-tests.sh)
#   make bench  run every benchmark in a quick mode (a few minutes; as root), print one summary table and
#               put it at the top of docs/benchmarks.md (benchmarks/summary.py; logs and JSON under .build/bench)
# They prepare the checkout first (scripts/bootstrap.sh: .venv, Debian packages; quick once done);
# the demo only what it needs (scripts/bootstrap.sh demo: .venv with ansible-core, util-linux, procps).
SHELL := /bin/bash

.PHONY: all bootstrap demo test sanity bench clean

all: test

bootstrap:
	scripts/bootstrap.sh

demo:
	scripts/bootstrap.sh demo
	source scripts/env.sh && ansible-playbook playbooks/demo.yml

test: bootstrap
	PIDNS_SKIP_BOOTSTRAP=1 scripts/run-tests.sh

sanity: bootstrap
	PIDNS_SKIP_BOOTSTRAP=1 scripts/run-tests.sh sanity

bench: bootstrap
	source scripts/env.sh && python benchmarks/summary.py --markdown .build/bench/summary.md --update-doc docs/benchmarks.md

clean:
	rm -rf .build
