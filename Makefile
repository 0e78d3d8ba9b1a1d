# The two commands of the README: `make demo` and `make test`. Each installs what it needs.
SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
PIP   := $(VENV)/bin/pip
PYTHON ?= python3
# Debian packages: the command (or absolute path) each provides. docker.io and busybox-static are
# for the tests that drive a real dockerd, podman and containerd for the CNI tests (no service of
# theirs is started by the install here).
SYSTEM_PACKAGES := iproute2:ip iputils-ping:ping nftables:nft util-linux:nsenter docker.io:dockerd \
	busybox-static:/bin/busybox etcd-server:etcd containernetworking-plugins:/usr/lib/cni/bridge dnsutils:dig graphviz:dot \
	podman:podman containerd:ctr runc:runc
MEMBERS := core drivers/null drivers/bridge drivers/remote drivers/overlay contrib/macvlan contrib/docker-plugin \
	contrib/cni-plugin drivers/cni

.PHONY: demo test bench system venv clean lint docs graph-demo

system:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
	  cmd="$${pair#*:}"; \
	  if [ "$${cmd#/}" != "$$cmd" ]; then [ -x "$$cmd" ] || missing="$$missing $${pair%%:*}"; \
	  else command -v "$$cmd" >/dev/null 2>&1 || missing="$$missing $${pair%%:*}"; fi; \
	done; \
	$(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(VENV)/.installed: system $(foreach m,$(MEMBERS),$(m)/pyproject.toml) pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "pytest>=8" "hypothesis>=6" "hatchling>=1.20" "docker>=7.1"
	$(PIP) install -q $(foreach m,$(MEMBERS),-e ./$(m)) "etcd3gw>=2.4"
	touch $@

# Byte-compiled once here: the environment may set PYTHONDONTWRITEBYTECODE, and Python still reads
# the .pyc files it does not write (without them every pycnm command compiles what it imports).
venv: $(VENV)/.installed
	@$(PY) -m compileall -q -j 0 $(VENV)/lib $(wildcard $(foreach m,$(MEMBERS),$(m)/src)) >/dev/null \
	  || echo "compileall: some files did not byte-compile (see: $(PY) -m compileall $(VENV)/lib)"

demo: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/demo.sh

# The README's picture: the demo's topology drawn by `pycnm graph` (root: it makes the demo's bridge).
graph-demo: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/graph-demo.sh docs/demo-topology.png

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
test: venv
	$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

# Lint, format and types, as CI runs them before the tests (pinned: a new release may add checks).
LINT_TOOLS := "ruff==0.17.6" "mypy==2.4.1"
$(VENV)/.lint-installed: $(VENV)/.installed Makefile
	$(PIP) install -q $(LINT_TOOLS)
	touch $@

lint: $(VENV)/.lint-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The reference, generated from the docstrings; -W: a malformed docstring fails the build (CI).
DOCS_TOOLS := "sphinx==9.0.4"
$(VENV)/.docs-installed: $(VENV)/.installed Makefile
	$(PIP) install -q $(DOCS_TOOLS)
	touch $@

docs: $(VENV)/.docs-installed
	$(VENV)/bin/sphinx-build -q -W --keep-going -b html docs/reference docs/reference/_build/html

# Benchmarks (not part of the README's two commands): figures go to docs/benchmarks.md.
# The peers measured beside pycnm (Debian's packages): CNI's plugins, netavark, aardvark-dns, and
# dnsperf to load the resolvers.
BENCH_PACKAGES := netavark:/usr/lib/podman/netavark aardvark-dns:/usr/lib/podman/aardvark-dns dnsperf:dnsperf
bench: venv
	@$(MAKE) --no-print-directory system SYSTEM_PACKAGES="$(BENCH_PACKAGES)"
	$(PIP) install -q matplotlib
	$(PY) bench/ipam.py --write docs/benchmarks.md
	$(PY) bench/attach.py -n 100 --write docs/benchmarks.md
	$(PY) bench/attach.py -n 1000 --write docs/benchmarks.md --plot docs/attach-1000.png
	$(PY) bench/networks.py -n 1000 --write docs/benchmarks.md
	$(PY) bench/remote.py --write docs/benchmarks.md
	$(PY) bench/overlay.py --write docs/benchmarks.md
	$(PY) bench/cli.py --write docs/benchmarks.md
	$(PY) bench/daemon_scale.py --write docs/benchmarks.md
	$(PY) bench/cni.py --write docs/benchmarks.md
	$(PY) bench/dns_resolvers.py --write docs/benchmarks.md

clean:
	rm -rf $(VENV)
