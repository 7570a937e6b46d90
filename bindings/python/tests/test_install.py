"""How the package is installed: the library it loads, the SVQ_LIBRARY override and the licence metadata.

With SVQ_TEST_INSTALLED_WHEEL=1 (scripts/test-python.sh, after installing the wheel scripts/build-wheel.sh
made into a fresh virtual environment) the package under test must be that wheel: imported from outside
this checkout, loading the libsvq.so it carries and the Swift runtime auditwheel put beside it.
"""

import importlib.metadata
import os
import pathlib
import subprocess
import sys
import sysconfig

import pytest

import svq

REPO = pathlib.Path(__file__).resolve().parents[3]
installed_wheel = pytest.mark.skipif(os.environ.get("SVQ_TEST_INSTALLED_WHEEL") != "1",
                                     reason="set by scripts/test-python.sh for the installed wheel")

# Sonames of the Swift runtime libraries libsvq needs (docs/runtime.md lists them); auditwheel renames
# its copies libswiftCore-<hash>.so and so on.
SWIFT_RUNTIME_PREFIXES = ("libswift", "libFoundation", "lib_FoundationICU", "libdispatch", "libBlocksRuntime")


def mapped_files():
    """Paths of the files mapped into this process (Linux)."""
    with open("/proc/self/maps") as maps:
        return {line.split(maxsplit=5)[5].strip() for line in maps if len(line.split(maxsplit=5)) == 6}


@installed_wheel
def test_the_package_is_the_installed_wheel():
    package = pathlib.Path(svq.__file__).resolve().parent
    site_packages = {pathlib.Path(sysconfig.get_path(name)).resolve() for name in ("platlib", "purelib")}
    assert package.parent in site_packages, f"svq imported from {package}, not this environment's site-packages"
    assert "SVQ_LIBRARY" not in os.environ
    assert svq.library_path() == package / "libsvq.so"


@installed_wheel
def test_the_swift_runtime_is_the_wheels_own():
    svq.library_path()  # loads the library
    package = pathlib.Path(svq.__file__).resolve().parent
    runtime = [pathlib.Path(p) for p in mapped_files()
               if pathlib.Path(p).name.startswith(SWIFT_RUNTIME_PREFIXES)]
    assert any(p.name.startswith("libswiftCore") for p in runtime), runtime
    outside = [p for p in runtime if p.parent != package.parent / "svq.libs"]
    assert not outside, f"Swift runtime loaded from outside the wheel: {outside}"


def test_svq_library_overrides_every_other_place(tmp_path):
    missing = tmp_path / "libsvq-elsewhere.so"
    code = "import svq\ntry:\n    svq.library_path()\nexcept svq.LibraryNotFoundError as e:\n    print(e)\n"
    env = dict(os.environ, SVQ_LIBRARY=str(missing))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert f"Tried: {missing} (missing)" in result.stdout, result.stdout + result.stderr


def test_the_licence_is_in_the_metadata():
    assert importlib.metadata.metadata("svq")["License-Expression"] == "MIT"
    licence = [f for f in importlib.metadata.files("svq") if f.name == "LICENSE"]
    assert licence, "no LICENSE among the installed files"
    assert licence[0].read_text() == (REPO / "LICENSE").read_text()
