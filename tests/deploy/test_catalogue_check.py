"""deploy/check-catalogues: the image's proof that every catalogue is in the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "check-catalogues"


def _installed_like_the_image(site: Path) -> list[Path]:
    """Our compiled catalogues under site/intake, beside wtforms' own catalogues from this venv."""
    copied = []
    for po in (ROOT / "intake").rglob("*.po"):
        mo = po.with_suffix(".mo")
        target = site / mo.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"compiled")
        copied.append(target)
    wtforms = Path(sysconfig.get_paths()["purelib"]) / "wtforms"
    shutil.copytree(wtforms / "locale", site / "wtforms" / "locale")
    return copied


def _check(site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), str(ROOT), str(site)], capture_output=True, text=True, timeout=30)


def test_other_packages_catalogues_do_not_count(tmp_path: Path) -> None:
    # The Dockerfile used to compare the number of .po files with the number of
    # every .mo in the venv, so wtforms' catalogues failed every build.
    _installed_like_the_image(tmp_path)
    assert len(list((tmp_path / "wtforms").rglob("*.mo"))) > 0
    result = _check(tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_missing_catalogue_fails(tmp_path: Path) -> None:
    copied = _installed_like_the_image(tmp_path)
    copied[0].unlink()
    result = _check(tmp_path)
    assert result.returncode != 0
    assert copied[0].with_suffix(".po").name in result.stderr
