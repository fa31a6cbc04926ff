"""deploy/: the manifests are valid for their platforms and wired to batchproxy's exit codes
(docs/reference.md §12).

All offline. Kubernetes objects are validated against the API's own JSON schemas (bundled by
``kubernetes-validate``, strict: an unknown or misspelt field fails), plus the Job rules the API server
enforces that a schema cannot express. AWS Batch requests are validated against botocore's ``batch``
service model with the SDK's own ``ParamValidator``, plus the model's enums, which that validator does
not check. The Dockerfile cannot be built here (no container engine): it is checked structurally.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import kubernetes_validate
import pytest
import yaml
from botocore.validate import ParamValidator

from batchproxy.cli import main
from batchproxy.shard import parse_shard, shard_path

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
# Backoff limit per index and the FailIndex action are GA from Kubernetes 1.33.
KUBERNETES_VERSION = "1.33"
EXIT_NOT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
POD_FAILURE_ACTIONS = {"FailJob", "FailIndex", "Ignore", "Count"}


def _documents(name: str) -> list[dict[str, Any]]:
    with (DEPLOY / "kubernetes" / name).open() as source:
        return [doc for doc in yaml.safe_load_all(source) if doc]


def _job(name: str) -> dict[str, Any]:
    jobs = [doc for doc in _documents(name) if doc["kind"] == "Job"]
    assert len(jobs) == 1
    return jobs[0]


def _container(job: dict[str, Any]) -> dict[str, Any]:
    containers = job["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def _batch() -> Any:
    return botocore.session.get_session().get_service_model("batch")


def _request(name: str) -> dict[str, Any]:
    return dict(json.loads((DEPLOY / "aws-batch" / name).read_text()))


# -- Kubernetes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["job.yaml", "merge-job.yaml"])
def test_kubernetes_objects_validate_against_the_api_schema(name: str) -> None:
    for document in _documents(name):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_misspelt_field() -> None:
    """The validation above can fail: a typo in a Job field is refused (strict mode)."""
    job = _job("job.yaml")
    job["spec"]["backoffLimitPerIndx"] = job["spec"].pop("backoffLimitPerIndex")
    with pytest.raises(kubernetes_validate.ValidationError, match="backoffLimitPerIndx"):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


def _exit_actions(job: dict[str, Any]) -> dict[int, str]:
    """Exit code -> action, first matching rule wins, as the Job controller reads the rules."""
    actions: dict[int, str] = {}
    for rule in job["spec"]["podFailurePolicy"]["rules"]:
        on_codes = rule.get("onExitCodes")
        if on_codes is None:
            continue
        assert on_codes["operator"] == "In"
        for code in on_codes["values"]:
            actions.setdefault(code, rule["action"])
    return actions


def test_indexed_job_follows_the_api_servers_job_rules() -> None:
    """What the API server refuses but the schema does not say: these would fail `kubectl apply`."""
    job = _job("job.yaml")
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"]
    assert spec["backoffLimitPerIndex"] >= 1  # FailIndex needs it
    assert pod["restartPolicy"] == "Never"  # podFailurePolicy and backoffLimitPerIndex need it
    names = {c["name"] for c in pod["containers"]}
    for rule in spec["podFailurePolicy"]["rules"]:
        assert rule["action"] in POD_FAILURE_ACTIONS
        assert ("onExitCodes" in rule) != ("onPodConditions" in rule)  # exactly one
        if "onExitCodes" in rule:
            assert rule["onExitCodes"]["containerName"] in names
            assert 0 not in rule["onExitCodes"]["values"]  # 0 is refused with operator In
            values = rule["onExitCodes"]["values"]
            assert values == sorted(set(values))  # the API wants them ordered and unique


def test_indexed_job_maps_batchproxys_exit_codes_to_retries() -> None:
    """2 (nothing sent) and 1 (final outcomes) never retried; 130 (interrupted) resumes for free."""
    job = _job("job.yaml")
    assert _exit_actions(job) == {
        EXIT_NOT_OK: "FailIndex",
        EXIT_USAGE: "FailIndex",
        EXIT_INTERRUPTED: "Ignore",
    }
    disruption = [r for r in job["spec"]["podFailurePolicy"]["rules"] if "onPodConditions" in r]
    assert [r["onPodConditions"][0]["type"] for r in disruption] == ["DisruptionTarget"]


def _check_with_the_cli(args: list[str]) -> None:
    """Parse the container's arguments with the real CLI's parser (click), as the container would.

    ``--shard`` is left out until the lead wires it into ``run``; every other option and value must
    parse as it stands.
    """
    if "--shard" in args and "--shard" not in [p.opts[0] for p in main.commands[args[0]].params if p.opts]:
        at = args.index("--shard")
        args = args[:at] + args[at + 2 :]
    command = main.commands[args[0]]
    command.make_context(args[0], list(args[1:]))  # raises click.UsageError on a bad option or value


def test_indexed_job_runs_its_shard_resumably_and_the_merge_job_reads_every_shard() -> None:
    job = _job("job.yaml")
    args = _container(job)["args"]
    assert args[:2] == ["run", "/data/input.csv"]
    assert args[args.index("--shard") + 1] == f"auto/{job['spec']['completions']}"
    assert "--resume" in args
    _check_with_the_cli([a.replace("$(AWS_REGION)", "us-east-1") for a in args])
    count = job["spec"]["completions"]
    shards = [parse_shard(f"auto/{count}", {"JOB_COMPLETION_INDEX": str(i)}) for i in range(count)]
    expected = [str(shard_path(Path("/data/input.results.csv"), spec)) for spec in shards]
    assert _container(_job("merge-job.yaml"))["args"] == ["merge", *expected]
    _check_with_the_cli(["merge", *expected])
    # Longer than --grace, so a SIGTERM'd shard writes every outcome before the kill.
    grace = float(args[args.index("--grace") + 1])
    assert job["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > grace + 10


def test_indexed_job_keeps_the_journal_on_a_shared_persistent_volume_and_uses_irsa() -> None:
    documents = {doc["kind"]: doc for doc in _documents("job.yaml")}
    claim, job, account = documents["PersistentVolumeClaim"], documents["Job"], documents["ServiceAccount"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # shards run at once on different nodes
    pod = job["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in _container(job)["volumeMounts"]}
    assert volumes[mounts["/data"]]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert "AWS_SECRET_ACCESS_KEY" not in json.dumps(_container(job))


# -- AWS Batch -------------------------------------------------------------------------------------


def _enum_problems(value: Any, shape: Any, where: str) -> Iterator[str]:
    """Values outside the model's enums: ``ParamValidator`` checks types and required members only."""
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                yield from _enum_problems(item, shape.members[key], f"{where}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            yield from _enum_problems(item, shape.member, f"{where}[{i}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from _enum_problems(item, shape.value, f"{where}[{key}]")
    elif getattr(shape, "enum", None) and value not in shape.enum:
        yield f"{where}: {value!r} is not one of {shape.enum}"


@pytest.mark.parametrize(
    ("name", "operation"),
    [
        ("job-definition.json", "RegisterJobDefinition"),
        ("submit-job.json", "SubmitJob"),
        ("submit-merge.json", "SubmitJob"),
    ],
)
def test_batch_requests_validate_against_the_sdks_model(name: str, operation: str) -> None:
    shape = _batch().operation_model(operation).input_shape
    report = ParamValidator().validate(_request(name), shape)
    assert not report.has_errors(), report.generate_report()
    assert list(_enum_problems(_request(name), shape, name)) == []


def test_the_batch_checks_catch_a_wrong_field_and_a_wrong_action() -> None:
    shape = _batch().operation_model("RegisterJobDefinition").input_shape
    request = _request("job-definition.json")
    request["retryStrategy"]["evaluateOnExit"][0]["action"] = "retry-later"
    assert list(_enum_problems(request, shape, "x")) != []
    request["containerProperties"]["mountpoints"] = request["containerProperties"].pop("mountPoints")
    assert ParamValidator().validate(request, shape).has_errors()


def test_batch_retry_strategy_maps_batchproxys_exit_codes() -> None:
    """First match wins; Batch retries whatever matches no rule, so crashes and host loss retry too."""
    strategy = _request("job-definition.json")["retryStrategy"]
    rules = strategy["evaluateOnExit"]
    assert len(rules) <= 5  # the API's limit
    by_code = {r["onExitCode"]: r["action"] for r in rules if "onExitCode" in r}
    assert by_code == {str(EXIT_USAGE): "EXIT", str(EXIT_NOT_OK): "EXIT", str(EXIT_INTERRUPTED): "RETRY"}
    assert 2 <= strategy["attempts"] <= 10


def test_batch_array_job_runs_n_shards_resumably_with_the_journal_on_efs() -> None:
    definition, submit = _request("job-definition.json"), _request("submit-job.json")
    container = definition["containerProperties"]
    parameters = {**definition["parameters"], **submit["parameters"]}
    command = [
        parameters[c.removeprefix("Ref::")] if c.startswith("Ref::") else c for c in container["command"]
    ]
    size = submit["arrayProperties"]["size"]
    assert 2 <= size <= 10_000  # Batch's bounds for an array job
    assert command[:2] == ["run", "/data/input.csv"]
    assert command[command.index("--shard") + 1] == f"auto/{size}"
    assert "--resume" in command
    _check_with_the_cli(command)
    parse_shard(f"auto/{size}", {"AWS_BATCH_JOB_ARRAY_INDEX": str(size - 1)})  # the last child's index fits
    volumes = {v["name"]: v for v in container["volumes"]}
    mounts = {m["containerPath"]: m["sourceVolume"] for m in container["mountPoints"]}
    assert volumes[mounts["/data"]]["efsVolumeConfiguration"]["transitEncryption"] == "ENABLED"
    assert container["jobRoleArn"].startswith("arn:aws:iam::")
    assert not any(e["name"].startswith("AWS_SECRET") for e in container.get("environment", []))
    merge = _request("submit-merge.json")
    assert merge["containerOverrides"]["command"][0] == "merge"
    assert len(merge["containerOverrides"]["command"]) == 1 + size
    _check_with_the_cli(merge["containerOverrides"]["command"])


# -- Dockerfile ------------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined, comments dropped."""
    text = (DEPLOY / "Dockerfile").read_text()
    logical = re.sub(
        r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    )
    pairs = []
    for line in logical.splitlines():
        if line.strip():
            instruction, _, arguments = line.strip().partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def test_dockerfile_runs_the_cli_as_a_non_root_user_on_a_slim_python_3_11() -> None:
    instructions = _instructions()
    bases = [arguments.split()[0] for instruction, arguments in instructions if instruction == "FROM"]
    assert bases
    assert all(re.fullmatch(r"python:3\.11-slim(@sha256:[0-9a-f]{64})?", b) for b in bases)
    users = [arguments for instruction, arguments in instructions if instruction == "USER"]
    assert users, "no USER: the container would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    entrypoints = [arguments for instruction, arguments in instructions if instruction == "ENTRYPOINT"]
    assert [json.loads(e) for e in entrypoints] == [["batchproxy"]]  # exec form: signals reach the CLI
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert "batchproxy" in scripts


def test_dockerfile_fetches_nothing_by_url_and_bakes_in_no_secret() -> None:
    secret = re.compile(r"(SECRET|PASSWORD|TOKEN|ACCESS_KEY|CREDENTIAL|AKIA[0-9A-Z]{12})", re.IGNORECASE)
    for instruction, arguments in _instructions():
        if instruction in {"ENV", "ARG", "LABEL"}:
            assert not secret.search(arguments), (instruction, arguments)
        if instruction == "ADD":
            assert "://" not in arguments
            assert not arguments.startswith("git@")
        if instruction == "COPY":
            assert ".aws" not in arguments
            assert ".env" not in arguments.split()
        if instruction == "RUN":
            assert not re.search(r"\b(curl|wget)\b", arguments)


def test_dockerfile_copies_only_what_exists_in_the_repository() -> None:
    """The build context is the repository root: every COPY source must be there, and nothing else is sent."""
    for instruction, arguments in _instructions():
        if instruction == "COPY" and not arguments.startswith("--from"):
            for source in shlex.split(arguments)[:-1]:
                assert (REPO / source).exists(), source
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert ignore[ignore.index("*") :][:1] == ["*"]  # deny everything, then allow the few
    assert {"!pyproject.toml", "!README.md", "!batchproxy/"} <= set(ignore)
