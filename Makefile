# Two commands matter on a fresh machine: `make synth` and `make test`.
# Every target is idempotent: stamps under .venv/, .venv-scan/, .venv-floor/ and node_modules/ skip work already done.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# checkov, cfn-lint (+ serverless rules) and parliament: their own venv, as checkov pins an older boto3
SCAN_VENV := .venv-scan
# the construct tests at the lowest aws-cdk-lib pyproject.toml declares (tests/test_cdk_floor.py); --no-compile:
# the tests import a fraction of aws_cdk, and compiling all of it at install took 76 s against 23 s without
FLOOR_VENV := .venv-floor
CDK := node_modules/.bin/cdk
# Node 22 from the npm package `node` pinned in package.json (npm ci installs it): first on PATH for the CDK
# CLI and every node a recipe starts, and JSII_NODE for jsii in each Python process (synth, test, bench).
NODE_BIN := $(CURDIR)/node_modules/.bin
export PATH := $(NODE_BIN):$(PATH)
export JSII_NODE := $(NODE_BIN)/node
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: synth test dev invoke bench cost mutation clean

synth: $(VENV)/.synth-deps node_modules/.installed
	$(CDK) synth --quiet --no-notices --output cdk.out $(CDK_ARGS)
	$(PY) scripts/synth_summary.py cdk.out

test: $(VENV)/.dev-deps $(SCAN_VENV)/.installed $(FLOOR_VENV)/.installed node_modules/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

dev: $(VENV)/.dev-deps
	$(PY) -m devtools.server --host 127.0.0.1 --port 3000 $(DEV_ARGS)

invoke: $(VENV)/.dev-deps
	$(PY) -m devtools.invoke --event $(or $(EVENT),http)

cost: synth
	$(PY) scripts/cost.py cdk.out $(COST_ARGS)

bench: $(VENV)/.dev-deps node_modules/.installed
	for script in benchmarks/synth.py benchmarks/synth_*.py benchmarks/handler_*.py benchmarks/websocket_*.py; do \
		echo "== $$script"; $(PY) $$script || exit 1; done

# Mutation testing of the runtime's core modules (scores in benchmarks/README.md); not part of `make test`:
# it runs each module's tests once per mutant. MUTATION_ARGS="--target router" picks one, "--list" lists them.
mutation: $(VENV)/.dev-deps
	$(PY) scripts/mutation.py $(MUTATION_ARGS)

$(VENV)/.created:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	touch $@

$(VENV)/.synth-deps: $(VENV)/.created requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-deps: $(VENV)/.synth-deps requirements-dev.txt lambda_src/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(SCAN_VENV)/.installed: requirements-scan.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	touch $@

$(FLOOR_VENV)/.installed: requirements-floor.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(FLOOR_VENV)
	$(FLOOR_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-floor.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf cdk.out .bundle-cache .pytest_cache
