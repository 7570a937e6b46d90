"""Configuration of the ONNX export tests.

SVQ_ONNX_EXPORTS lists `svq export-onnx --write-reference-outputs` folders (separated by os.pathsep); every
test that takes `export` runs once per folder. SVQ_ONNX_GOLDEN names the golden-tiny export, which is also
compared with the official code's outputs. scripts/test-onnx.sh sets both.
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from onnx_helpers import Export  # noqa: E402

_exports = {}
_diffs = []   # (export, quantity, max abs difference, tolerance), printed at the end


def _export_folders():
    raw = os.environ.get("SVQ_ONNX_EXPORTS", "")
    folders = [f for f in raw.split(os.pathsep) if f]
    if not folders:
        raise pytest.UsageError("set SVQ_ONNX_EXPORTS to export folders (scripts/test-onnx.sh does it)")
    for f in folders:
        if not (Path(f) / "manifest.json").exists():
            raise pytest.UsageError(f"{f} is not an svq export-onnx folder (no manifest.json)")
    return folders


def load_export(folder):
    if folder not in _exports:
        _exports[folder] = Export(folder)
    return _exports[folder]


def pytest_generate_tests(metafunc):
    if "export" in metafunc.fixturenames:
        folders = _export_folders()
        metafunc.parametrize("export", folders, ids=[Path(f).name for f in folders], indirect=True)


@pytest.fixture
def export(request):
    return load_export(request.param)


@pytest.fixture
def golden_export():
    folder = os.environ.get("SVQ_ONNX_GOLDEN")
    if not folder:
        raise pytest.UsageError("set SVQ_ONNX_GOLDEN to the golden-tiny export (scripts/test-onnx.sh does it)")
    return load_export(folder)


@pytest.fixture
def record_diff(request):
    """record_diff(quantity, difference, tolerance): asserts difference <= tolerance and logs it."""
    def record(quantity, difference, tolerance):
        golden = os.environ.get("SVQ_ONNX_GOLDEN", "golden")
        export = request.node.callspec.params.get("export", golden) if hasattr(request.node, "callspec") else golden
        _diffs.append((Path(str(export)).name, quantity, difference, tolerance))
        assert difference <= tolerance, f"{quantity}: max |difference| {difference:.3g} exceeds {tolerance:g}"
    return record


def pytest_terminal_summary(terminalreporter):
    if not _diffs:
        return
    terminalreporter.section("max |ONNX Runtime − reference|")
    for export, quantity, diff, tol in _diffs:
        terminalreporter.write_line(f"{export:<20} {quantity:<40} {diff:10.3g}   (tolerance {tol:g})")
