"""The packaging files lint clean and agree with the app and with each other.

No Docker engine or cluster is needed: hadolint lints the Dockerfile, kubernetes-validate checks the manifests
against the Kubernetes schemas it ships, and docker-compose.yml and the Keycloak realm are read as data.
"""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
K8S_DIR = ROOT / "deploy" / "k8s"
PROMETHEUS_SCRAPE_FILE = ROOT / "deploy" / "prometheus" / "scrape-config.yaml"
REALM_FILE = ROOT / "deploy" / "keycloak" / "aether-realm.json"

# The oldest Kubernetes release the manifests must work on.
KUBERNETES_VERSION = "1.30.0"

# CONTRACT.md, "Configuration": every variable the app reads.
CONTRACT_VARIABLES = {
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "OIDC_ISSUER",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "OIDC_SCOPES",
    "OIDC_AUDIENCES",
    "OIDC_STAFF_ROLES",
    "OIDC_SUPERUSER_ROLES",
    "OIDC_ROLE_GROUPS",
    "ONBOARDING_TIMEOUT_SECONDS",
    "DOCUMENT_MAX_BYTES",
    "ONBOARDING_RETRY_THROTTLE",
    "API_THROTTLE",
    "METRICS_TOKEN",
}
SECRET_VARIABLES = {"DJANGO_SECRET_KEY", "DATABASE_URL", "OIDC_CLIENT_SECRET", "METRICS_TOKEN"}
CALLBACK_PATH = "/oidc/callback/"
BACKCHANNEL_LOGOUT_PATH = "/oidc/backchannel-logout/"


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a console script installed beside the running interpreter (requirements-dev.txt), not from PATH."""
    tool = Path(sys.executable).parent / name
    assert tool.is_file(), f"{tool} is missing: install requirements-dev.txt into this environment"
    return subprocess.run(
        [str(tool), *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as stream:
        return [document for document in yaml.safe_load_all(stream) if document]


def k8s_resource(kind: str, name: str | None = None) -> dict[str, Any]:
    """The one resource of this kind (and name, when given) in deploy/k8s/ that kustomization.yaml deploys."""
    found = [
        document
        for filename in kustomization()["resources"]
        for document in load_yaml_documents(K8S_DIR / filename)
        if document["kind"] == kind and name in (None, document["metadata"]["name"])
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''} in the kustomization, found {len(found)}"
    return found[0]


def web_deployment() -> dict[str, Any]:
    return k8s_resource("Deployment", "aether")


def worker_deployment() -> dict[str, Any]:
    return k8s_resource("Deployment", "aether-worker")


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def kustomization() -> dict[str, Any]:
    return load_yaml_documents(K8S_DIR / "kustomization.yaml")[0]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml_documents(ROOT / "docker-compose.yml")[0]


@pytest.fixture(scope="module")
def realm() -> dict[str, Any]:
    return json.loads(REALM_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def client(realm: dict[str, Any]) -> dict[str, Any]:
    (client,) = [client for client in realm["clients"] if client["clientId"] == "aether"]
    return client


# Dockerfile


def test_dockerfile_passes_hadolint() -> None:
    result = run_tool("hadolint", "--no-color", "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_gunicorn_as_the_non_root_user_kubernetes_expects() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    runtime_stage = dockerfile.split("\nFROM ")[-1]
    assert "requirements-dev" not in dockerfile
    assert "requirements-local" not in dockerfile
    assert "collectstatic --noinput" in runtime_stage
    assert "EXPOSE 8000" in runtime_stage
    assert "/healthz" in runtime_stage
    # Every server setting comes from gunicorn.conf.py: an option on the command line would override it.
    (command,) = re.findall(r"^CMD (.+)$", runtime_stage, flags=re.MULTILINE)
    assert json.loads(command) == ["gunicorn", "--config", "gunicorn.conf.py", "aether.wsgi:application"]
    (user,) = re.findall(r"^USER (\d+):(\d+)$", runtime_stage, flags=re.MULTILINE)
    pod_security = web_deployment()["spec"]["template"]["spec"]["securityContext"]
    assert int(user[0]) != 0
    assert (pod_security["runAsUser"], pod_security["runAsGroup"]) == (int(user[0]), int(user[1]))


# Kubernetes


def test_every_kubernetes_manifest_validates_against_the_schemas() -> None:
    manifests = sorted(
        str(path.relative_to(ROOT)) for path in K8S_DIR.glob("*.yaml") if path.name != "kustomization.yaml"
    )
    assert {"deploy/k8s/deployment.yaml", "deploy/k8s/worker-deployment.yaml"} <= set(manifests)
    result = run_tool("kubernetes-validate", "--strict", "-k", KUBERNETES_VERSION, *manifests)
    # Each file must be named as passed: an unknown kind is only a warning, with exit status 0.
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for manifest in manifests:
        assert f"INFO {manifest} passed" in output, output


def test_kustomization_deploys_every_manifest_except_the_example_secret() -> None:
    listed = set(kustomization()["resources"])
    on_disk = {path.name for path in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk - {"secret.example.yaml"}


def test_configmap_and_secret_together_set_every_variable_and_keep_secrets_out_of_the_configmap() -> None:
    config = k8s_resource("ConfigMap")
    (secret,) = load_yaml_documents(K8S_DIR / "secret.example.yaml")
    assert set(config["data"]) >= CONTRACT_VARIABLES - SECRET_VARIABLES
    assert not set(config["data"]) & SECRET_VARIABLES
    assert set(secret["stringData"]) == SECRET_VARIABLES
    assert all("REPLACE-ME" in value for value in secret["stringData"].values())

    env_from = web_deployment()["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert {"configMapRef": {"name": config["metadata"]["name"]}} in env_from
    assert {"secretRef": {"name": secret["metadata"]["name"]}} in env_from


def test_deployment_probes_health_and_runs_locked_down() -> None:
    deployment = web_deployment()
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert deployment["spec"]["replicas"] == 2
    assert "initContainers" not in pod, "migrations run in migrate-job.yaml, never once per replica"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"requests", "limits"} <= set(container["resources"])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    (tmp_mount,) = [mount for mount in container["volumeMounts"] if mount["mountPath"] == "/tmp"]
    (tmp_volume,) = [volume for volume in pod["volumes"] if volume["name"] == tmp_mount["name"]]
    assert "emptyDir" in tmp_volume

    # Probes come by the pod IP, which ProbeMiddleware answers before host validation.
    assert "localhost" not in k8s_resource("ConfigMap")["data"]["DJANGO_ALLOWED_HOSTS"].split(",")


def dockerfile_env(name: str) -> str:
    runtime_stage = (ROOT / "Dockerfile").read_text(encoding="utf-8").split("\nFROM ")[-1]
    (value,) = re.findall(rf"^ENV {name}=(\S+)$", runtime_stage, flags=re.MULTILINE)
    return value


def test_every_pod_is_annotated_for_scraping_with_a_writable_metrics_directory() -> None:
    pod = web_deployment()["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) in {port["containerPort"] for port in container["ports"]}

    # The image names the directory; on the read-only root filesystem an emptyDir must be mounted there.
    directory = dockerfile_env("PROMETHEUS_MULTIPROC_DIR")
    (mount,) = [mount for mount in container["volumeMounts"] if mount["mountPath"] == directory]
    (volume,) = [volume for volume in pod["spec"]["volumes"] if volume["name"] == mount["name"]]
    assert "emptyDir" in volume
    assert "gunicorn.conf.py" in (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_the_prometheus_job_scrapes_what_the_pods_announce_with_the_token() -> None:
    (job,) = load_yaml_documents(PROMETHEUS_SCRAPE_FILE)[0]["scrape_configs"]
    annotations = web_deployment()["spec"]["template"]["metadata"]["annotations"]
    announced = {
        f"__meta_kubernetes_pod_annotation_{name.replace('.', '_').replace('/', '_')}" for name in annotations
    }
    used = {label for rule in job["relabel_configs"] for label in rule["source_labels"]}

    assert {label for label in used if "_annotation_" in label} == announced
    assert job["authorization"]["type"] == "Bearer"
    assert job["authorization"]["credentials_file"].endswith("METRICS_TOKEN")
    assert job["kubernetes_sd_configs"][0]["namespaces"]["names"] == [
        k8s_resource("Namespace")["metadata"]["name"]
    ]


def test_compose_keeps_the_metrics_directory_in_a_tmpfs(compose: dict[str, Any]) -> None:
    app = compose["services"]["app"]
    directory = app["environment"]["PROMETHEUS_MULTIPROC_DIR"]

    assert directory == dockerfile_env("PROMETHEUS_MULTIPROC_DIR")
    assert any(mount.split(":")[0] == directory for mount in app["tmpfs"])


def test_one_job_runs_migrations_with_the_web_image() -> None:
    job = k8s_resource("Job")
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    (web,) = web_deployment()["spec"]["template"]["spec"]["containers"]
    assert migrate["command"][:3] == ["python", "manage.py", "migrate"]
    assert job["spec"].get("parallelism", 1) == 1
    assert migrate["image"] == web["image"]
    assert migrate["envFrom"] == web["envFrom"]


def test_the_worker_runs_db_worker_with_the_web_image_and_configuration_and_serves_nothing() -> None:
    worker, web = worker_deployment(), web_deployment()
    pod = worker["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (web_container,) = web["spec"]["template"]["spec"]["containers"]
    labels = worker["spec"]["template"]["metadata"]["labels"]

    assert container["command"] == ["python", "manage.py", "db_worker", "--no-reload"]
    assert container["image"] == web_container["image"]
    assert container["envFrom"] == web_container["envFrom"]
    assert selects(worker["spec"]["selector"]["matchLabels"], labels)
    # Not behind the Service or the web pods' disruption budget, and no port nor HTTP probe to answer.
    assert not selects(k8s_resource("Service")["spec"]["selector"], labels)
    assert not selects(k8s_resource("PodDisruptionBudget")["spec"]["selector"]["matchLabels"], labels)
    assert not selects(web["spec"]["selector"]["matchLabels"], labels)
    assert "ports" not in container
    assert not {"livenessProbe", "readinessProbe", "startupProbe"} & set(container)
    # Locked down like the web pods, with room to finish a task after SIGTERM.
    assert {"requests", "limits"} <= set(container["resources"])
    assert pod["securityContext"] == web["spec"]["template"]["spec"]["securityContext"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["terminationGracePeriodSeconds"] >= 60
    # The image's metrics directory is not mounted here: the worker keeps its metrics in memory.
    assert {"name": "PROMETHEUS_MULTIPROC_DIR", "value": ""} in container["env"]


def test_a_cronjob_prunes_old_task_results_with_the_web_image() -> None:
    cronjob = k8s_resource("CronJob", "aether-prune-tasks")
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    (web_container,) = web_deployment()["spec"]["template"]["spec"]["containers"]

    assert container["command"][:3] == ["python", "manage.py", "prune_db_task_results"]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert container["image"] == web_container["image"]
    assert container["envFrom"] == web_container["envFrom"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


# Docker Compose and Keycloak


def test_compose_runs_db_keycloak_migrate_and_app(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"db", "keycloak", "migrate", "app"} <= set(services)
    assert services["db"]["image"].startswith("postgres:16")
    assert "healthcheck" in services["db"]
    keycloak = services["keycloak"]
    assert keycloak["image"].startswith("quay.io/keycloak/keycloak:26.")
    assert keycloak["command"] == ["start-dev", "--import-realm"]
    assert "./deploy/keycloak:/opt/keycloak/data/import:ro" in keycloak["volumes"]
    assert {"KC_BOOTSTRAP_ADMIN_USERNAME", "KC_BOOTSTRAP_ADMIN_PASSWORD"} <= set(keycloak["environment"])
    assert services["migrate"]["command"][:3] == ["python", "manage.py", "migrate"]
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_runs_a_worker_with_the_app_configuration_once_migrated(compose: dict[str, Any]) -> None:
    worker, app = compose["services"]["worker"], compose["services"]["app"]

    assert worker["command"] == ["python", "manage.py", "db_worker", "--no-reload"]
    assert worker["build"] == app["build"]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert worker["depends_on"]["db"]["condition"] == "service_healthy"
    own = dict(worker["environment"])
    assert own.pop("PROMETHEUS_MULTIPROC_DIR") == ""
    assert own == {
        name: value for name, value in app["environment"].items() if name != "PROMETHEUS_MULTIPROC_DIR"
    }
    # The image's health check asks the web server on port 8000, which the worker does not run.
    assert worker["healthcheck"] == {"disable": True}


def test_compose_app_sets_every_contract_variable(compose: dict[str, Any]) -> None:
    services = compose["services"]
    environment = services["app"]["environment"]
    assert set(environment) >= CONTRACT_VARIABLES
    assert services["migrate"]["environment"] == environment
    database = urlsplit(environment["DATABASE_URL"])
    db_env = services["db"]["environment"]
    assert (database.hostname, database.username, database.password, database.path) == (
        "db",
        db_env["POSTGRES_USER"],
        db_env["POSTGRES_PASSWORD"],
        f"/{db_env['POSTGRES_DB']}",
    )


def test_browser_and_app_see_keycloak_at_the_same_issuer(compose: dict[str, Any]) -> None:
    services = compose["services"]
    app, keycloak = services["app"], services["keycloak"]
    issuer = urlsplit(app["environment"]["OIDC_ISSUER"])
    assert app["environment"]["OIDC_ISSUER"] == "http://localhost:8080/realms/aether"
    # The app lives in Keycloak's network namespace, so localhost:8080 is Keycloak there as in the browser,
    # and the app's own port is published by the keycloak service.
    assert app["network_mode"] == "service:keycloak"
    assert f"{issuer.port}:8080" in keycloak["ports"]
    assert "8000:8000" in keycloak["ports"]
    assert keycloak["environment"]["KC_HOSTNAME"] == f"{issuer.scheme}://{issuer.netloc}"


def test_realm_client_is_confidential_with_pkce_and_the_callback_uri(
    realm: dict[str, Any], client: dict[str, Any]
) -> None:
    assert realm["realm"] == "aether"
    assert realm["enabled"] is True
    assert client["publicClient"] is False
    assert client["standardFlowEnabled"] is True
    assert client["directAccessGrantsEnabled"] is False
    assert client["implicitFlowEnabled"] is False
    assert client["attributes"]["pkce.code.challenge.method"] == "S256"
    assert client["redirectUris"] == [f"http://localhost:8000{CALLBACK_PATH}"]
    assert "http://localhost:8000/*" in client["attributes"]["post.logout.redirect.uris"].split("##")
    assert "http://localhost:8000" in client["webOrigins"]
    assert client["secret"].startswith("dev-only-")


def test_realm_client_sends_back_channel_logout_with_the_session_id_to_aether(client: dict[str, Any]) -> None:
    attributes = client["attributes"]
    assert reverse("oidc_backchannel_logout") == BACKCHANNEL_LOGOUT_PATH
    assert attributes["backchannel.logout.url"] == f"http://localhost:8000{BACKCHANNEL_LOGOUT_PATH}"
    # The sid in ID and logout tokens is what ends one browser session rather than all of them.
    assert attributes["backchannel.logout.session.required"] == "true"
    # Front-channel logout would replace the back channel when Keycloak ends a session.
    assert client["frontchannelLogout"] is False


def test_realm_matches_the_compose_settings(
    compose: dict[str, Any], realm: dict[str, Any], client: dict[str, Any]
) -> None:
    environment = compose["services"]["app"]["environment"]
    assert urlsplit(environment["OIDC_ISSUER"]).path == f"/realms/{realm['realm']}"
    assert environment["OIDC_CLIENT_ID"] == client["clientId"]
    assert environment["OIDC_CLIENT_SECRET"] == client["secret"]
    assert set(environment["OIDC_SCOPES"].split()) >= {"openid", "email", "profile"}
    realm_roles = {role["name"] for role in realm["roles"]["realm"]}
    assert environment["OIDC_STAFF_ROLES"].split(",") == ["aether-staff"]
    assert environment["OIDC_SUPERUSER_ROLES"].split(",") == ["aether-admin"]
    assert {"aether-staff", "aether-admin"} <= realm_roles


def test_access_tokens_carry_the_client_in_aud(client: dict[str, Any]) -> None:
    audience_mappers = [
        mapper for mapper in client["protocolMappers"] if mapper["protocolMapper"] == "oidc-audience-mapper"
    ]
    assert any(
        mapper["config"]["included.client.audience"] == client["clientId"]
        and mapper["config"]["access.token.claim"] == "true"
        for mapper in audience_mappers
    )


def test_demo_users_have_fixed_passwords_and_one_of_each_kind_of_access(realm: dict[str, Any]) -> None:
    users = {user["username"]: user for user in realm["users"]}
    alice, staff_demo, admin_demo = users["alice"], users["staff-demo"], users["admin-demo"]
    assert alice["email"] == "alice@example.com"
    for user in (alice, staff_demo, admin_demo):
        assert user["enabled"] is True
        (credential,) = user["credentials"]
        assert credential == {"type": "password", "value": user["username"], "temporary": False}
    assert not {"aether-staff", "aether-admin"} & set(alice.get("realmRoles", []))
    # Staff only: what a staff role alone gives is visible in the demo, not hidden by superuser rights.
    assert "aether-staff" in staff_demo["realmRoles"] and "aether-admin" not in staff_demo["realmRoles"]
    assert {"aether-staff", "aether-admin"} <= set(admin_demo["realmRoles"])


def test_env_example_documents_every_variable_the_deployments_set(compose: dict[str, Any]) -> None:
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), flags=re.M))
    configmap = set(k8s_resource("ConfigMap")["data"])
    app_environment = compose["services"]["app"].get("environment", {})

    assert configmap - documented == set()
    assert set(app_environment) - documented == set()


def test_the_development_provider_never_ships_in_the_image() -> None:
    runtime = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    local = (ROOT / "requirements-local.txt").read_text(encoding="utf-8").splitlines()

    assert "oidc-provider-mock" not in runtime
    assert "-r requirements.txt" in local
    assert any(line.startswith("oidc-provider-mock") for line in local)
    assert "-r requirements-local.txt" in (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")


# Installed for the tests only (requirements-dev.txt, requirements-local.txt), never in the image.
TEST_ONLY_MODULES = {
    "pytest",
    "pytest_django",
    "werkzeug",
    "flask",
    "oidc_provider_mock",
    "playwright",
    "hypothesis",
}


def _dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith(("#", "!"))]


def _ignored_by_docker(path: Path, patterns: list[str]) -> bool:
    """Docker's rule, as far as these patterns use it: a path is left out when it or a parent matches."""
    parts = path.parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        for prefix in prefixes:
            if Path(prefix).match(pattern.removeprefix("**/")) and (
                pattern.startswith("**/") or prefix.count("/") == pattern.count("/")
            ):
                return True
    return False


def test_the_image_gets_no_module_that_imports_a_test_tool():
    import ast

    patterns = _dockerignore_patterns()
    files = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    shipped = [Path(name) for name in files if not _ignored_by_docker(Path(name), patterns)]
    assert Path("aether/settings.py") in shipped
    assert not any("tests" in path.parts or path.name == "conftest.py" for path in shipped)

    offenders = {}
    for path in shipped:
        tree = ast.parse((ROOT / path).read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in TEST_ONLY_MODULES:
                    offenders.setdefault(str(path), []).append(name)
    assert offenders == {}
