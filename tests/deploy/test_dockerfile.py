"""The Dockerfile's rules, checked by reading it (no container engine is needed to run the suite)."""

from __future__ import annotations

import json
import re
import shlex

from tests.deploy.rendering import REPO, of_kind, render

DOCKERFILE = REPO / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def base_image() -> str:
    (default,) = [args for name, args in instructions() if name == "ARG" and args.startswith("PYTHON_IMAGE=")]
    return default.removeprefix("PYTHON_IMAGE=")


def test_the_base_is_a_bare_name_pinned_to_an_exact_release() -> None:
    image = base_image()
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image), image
    first_part = image.split("/")[0]
    assert "/" not in image or not re.search(r"[.:]|^localhost$", first_part), "no registry host"


def test_it_builds_in_one_stage_and_runs_from_another() -> None:
    stages = [args for name, args in instructions() if name == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]
    copies = [args for name, args in instructions() if name == "COPY" and "--from=" in args]
    assert copies == ["--from=build /opt/flowbus /opt/flowbus"]


def test_dependencies_come_from_the_locks_with_hashes_and_nothing_else() -> None:
    runs = [shlex.split(args) for name, args in instructions() if name == "RUN" and "pip " in args]
    runtime_install, build_tools, project = runs
    assert runtime_install[0] == "/opt/flowbus/bin/pip"
    assert {"--require-hashes", "--no-deps"} <= set(runtime_install)
    assert runtime_install[runtime_install.index("-r") + 1].endswith("requirements-runtime.lock")
    assert {"--require-hashes", "--no-deps"} <= set(build_tools)
    assert build_tools[0] == "/opt/build/bin/pip"  # the build venv is never copied to the runtime stage
    assert {"--no-deps", "--no-build-isolation"} <= set(project)


def _pins(lock: str) -> dict[str, str]:
    text = (REPO / lock).read_text(encoding="utf-8")
    return dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==([^ \\\n]+)", text, flags=re.MULTILINE))


def test_the_runtime_lock_is_the_full_lock_without_the_dev_tools() -> None:
    runtime, full = _pins("requirements-runtime.lock"), _pins("requirements.lock")
    assert runtime
    assert {name: full.get(name) for name in runtime} == runtime  # the same pins, nothing new
    assert not {"pytest", "ruff", "mypy", "schemathesis", "hatchling"} & set(runtime)


def test_it_runs_as_the_non_root_user_the_pods_expect() -> None:
    (user,) = [args for name, args in instructions() if name == "USER"]
    uid, _, gid = user.partition(":")
    assert int(uid) > 0
    assert int(gid) > 0
    for manifest in [*of_kind(render("prod"), "Deployment"), *of_kind(render("prod"), "Job")]:
        context = manifest["spec"]["template"]["spec"]["securityContext"]
        assert (context["runAsUser"], context["runAsGroup"]) == (int(uid), int(gid))


def test_the_entrypoint_serves_the_service_the_pod_names() -> None:
    (entrypoint,) = [args for name, args in instructions() if name == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["flowbus", "serve"]
    assert not [args for name, args in instructions() if name == "CMD"]


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ignored[ignored.index("*") :][:1] == ["*"], "everything is excluded unless named"
    included = {line.removeprefix("!").rstrip("/") for line in ignored if line.startswith("!")}
    assert included == {
        "pyproject.toml",
        "README.md",
        "requirements.lock",
        "requirements-runtime.lock",
        "shared",
        "services",
    }
