# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
VENV := .venv
# uv lives in a venv of its own: `uv sync` removes what the lock file does not list
UV := .uv/bin/uv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synced

.PHONY: run test lint compare-brokers clean alertmanager chromium

$(UV):
	python3 -m venv .uv
	.uv/bin/pip install --quiet uv==0.13.8

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet --python python3 --extra embedded
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/pim demo

test: $(STAMP) alertmanager chromium
	$(VENV)/bin/pytest -q

# Debian's Prometheus Alertmanager: the alert-delivery tests run against the real binary.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
alertmanager:
	@command -v prometheus-alertmanager >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus-alertmanager; }

# Debian's Chromium, headless: a test opens the API docs as a clerk's browser would, with no internet.
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

# The broker tests (marked `kafka`) against each embedded broker; see README "Embedded broker".
compare-brokers: $(STAMP)
	PIM_EMBEDDED_BROKER=noida $(VENV)/bin/pytest -q -m kafka
	PIM_EMBEDDED_BROKER=tansu $(VENV)/bin/pytest -q -m kafka --timeout 600

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared services pim tests tools

clean:
	rm -rf $(VENV) .uv
