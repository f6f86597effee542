# SPDX-License-Identifier: GPL-3.0-or-later
#   make demo   run the localhost demo (playbooks/demo.yml)
#   make test   run the whole test suite (scripts/run-tests.sh)
# Both prepare the checkout first (scripts/bootstrap.sh: .venv, Debian packages; quick once done);
# the demo only what it needs (scripts/bootstrap.sh demo: .venv with ansible-core, util-linux, procps).
SHELL := /bin/bash

.PHONY: all bootstrap demo test sanity clean

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

clean:
	rm -rf .build
