"""Render the Kustomize overlays with a real kustomize (kubectl's, or a kustomize binary)."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy/k8s"
OVERLAYS = ("dev", "prod")
Manifest = dict[str, Any]


def _kustomize_command() -> list[str]:
    local = REPO / ".local/bin/kustomize"
    if local.exists():
        return [str(local), "build"]
    if found := shutil.which("kustomize"):
        return [found, "build"]
    if found := shutil.which("kubectl"):
        return [found, "kustomize"]
    raise RuntimeError(
        "no kustomize to render deploy/k8s: install kubectl (it includes kustomize) or put kustomize v5 in .local/bin"
    )


@cache
def render(overlay: str) -> tuple[Manifest, ...]:
    result = subprocess.run(
        [*_kustomize_command(), str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kustomize failed on {overlay}: {result.stderr}")
    return tuple(document for document in yaml.safe_load_all(result.stdout) if document)


def of_kind(manifests: tuple[Manifest, ...], kind: str) -> list[Manifest]:
    return [manifest for manifest in manifests if manifest["kind"] == kind]


def named(manifests: tuple[Manifest, ...], kind: str, name: str) -> Manifest:
    matches = [manifest for manifest in of_kind(manifests, kind) if manifest["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]
