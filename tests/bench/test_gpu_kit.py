"""``python -m bench.gpu_kit``: what a device call sends is counted as git sends it, and a kit
that would not fit one call is refused before a GPU minute is spent."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench import gpu_kit


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_the_tree_is_what_git_sends_tracked_and_untracked_not_ignored(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("/.gpu/\n", encoding="utf-8")  # 7 bytes
    (tmp_path / "tracked.txt").write_bytes(b"x" * 100)
    _git(tmp_path, "add", ".")
    (tmp_path / "new.txt").write_bytes(b"y" * 10)  # untracked, not ignored: sent
    (tmp_path / ".gpu").mkdir()
    (tmp_path / ".gpu" / "big.bin").write_bytes(b"z" * 1000)  # ignored: sent only if carried
    assert gpu_kit.tree_bytes(tmp_path) == 7 + 100 + 10
    assert gpu_kit.folder_bytes(tmp_path / ".gpu") == 1000


def test_a_kit_too_large_for_one_call_is_refused(tmp_path: Path, monkeypatch, capsys) -> None:
    def local_wheels(folder: Path) -> list[Path]:  # pip's download is pip's: none here
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "seqeval-1.2.2-py3-none-any.whl").write_bytes(b"w" * 100)
        return sorted(folder.glob("*.whl"))

    monkeypatch.setattr(gpu_kit, "build_wheels", local_wheels)
    kit = tmp_path / ".gpu"
    assert gpu_kit.main(["--folder", str(kit)]) == 0
    said = capsys.readouterr().out
    assert 'carry=[".gpu"]' in said
    backbone_mib = gpu_kit.folder_bytes(kit / "backbone") / 2**20
    assert 40 < backbone_mib < 46  # float16: half the package's 84 MiB

    monkeypatch.setattr(gpu_kit, "SEND_LIMIT", gpu_kit.tree_bytes() + 2**20)
    assert gpu_kit.main(["--folder", str(kit)]) == 2
    assert "exceed what one device call may send" in capsys.readouterr().err


@pytest.mark.parametrize("script", ["gpu_check.sh", "gpu_retrain.sh"])
def test_the_device_scripts_parse_and_name_the_kit(script: str) -> None:
    path = Path(gpu_kit.__file__).with_name(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
    assert ".gpu/wheels" in path.read_text(encoding="utf-8")
