"""Start-up: ``import ecert`` and the quick commands load only what they use (issue 18).

Timing is for ``benchmarks/bench_startup.py``; these tests pin the *cause* of a slow start instead:
which modules a fresh interpreter has loaded after a command, and that no 1.5 MB table for G is
built to verify one file.  Each case runs in a fresh interpreter (the test process has loaded
everything already).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ecert
import ecert.cli
from tests import certs

SRC = str(Path(ecert.__file__).resolve().parents[1])
GOOD_ID = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
HEAVY = ("ecert.ofd", "ecert.crypto.x509", "ecert.package", "ecert.verify", "PIL", "lxml", "asn1crypto")


def _fresh(code: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; it sets ``out`` (a JSON-able dict), printed back."""
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport json, sys\nprint(json.dumps(out))"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def _loaded(modules: object, prefix: str) -> bool:
    assert isinstance(modules, list)
    return any(m == prefix or m.startswith(prefix + ".") for m in modules)


def test_import_ecert_loads_no_layer() -> None:
    out = _fresh("import sys, ecert\nout = {'modules': sorted(sys.modules)}")
    for heavy in (*HEAVY, "ecert.collect", "ecert.render", "ecert.crypto", "cryptography.x509"):
        assert not _loaded(out["modules"], heavy), heavy


@pytest.mark.parametrize(
    "argv", [["id", "check", GOOD_ID], ["code", "check", "91350100M000100Y43"]], ids=["id", "code"]
)
def test_quick_commands_load_only_their_layers(argv: list[str]) -> None:
    out = _fresh(
        "import contextlib, io, sys\nfrom ecert.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    code = main({argv!r})\n"
        "out = {'code': code, 'modules': sorted(sys.modules)}"
    )
    assert out["code"] in (0, 1)
    for heavy in (*HEAVY, "ecert.crypto", "ecert.metadata", "ecert.catalog", "cryptography.x509", "json"):
        assert not _loaded(out["modules"], heavy), heavy


def _verify_one_file(tmp_path: Path) -> dict[str, object]:
    """``ecert verify FILE --trust DIR`` of a valid file in a fresh process: its exit code, the
    modules it loaded, and whether it built the table for G."""
    data = tmp_path / "one.ofd"
    data.write_bytes(certs.issued_file())
    (tmp_path / "trust").mkdir()
    (tmp_path / "trust" / "root.pem").write_bytes(certs.hierarchy().root_cert.to_pem())
    argv = [str(data), "--trust", str(tmp_path / "trust"), "--at", certs.NOW.isoformat()]
    return _fresh(
        "import contextlib, io, sys\nfrom ecert.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    code = main(['verify', *{argv!r}])\n"
        "from ecert.crypto.sm2 import SM2P256V1\n"
        "out = {'code': code, 'modules': sorted(sys.modules), 'g_table': 'base' in SM2P256V1._cache}"
    )


def test_verifying_one_file_builds_no_table_for_g_and_loads_no_image_library(tmp_path: Path) -> None:
    out = _verify_one_file(tmp_path)
    assert out["code"] == 0  # a valid file (the check below would mean nothing for a refused one)
    assert out["g_table"] is False
    assert not _loaded(out["modules"], "PIL") and not _loaded(out["modules"], "ecert.render")


# what signing, opening a key container or printing JSON needs, and verifying one file does not
NOT_FOR_VERIFYING = (
    "ecert.crypto.signer",
    "ecert.crypto.cms_sign",
    "cryptography.hazmat.primitives.serialization.pkcs12",
    "cryptography.hazmat.primitives.kdf",
    "asn1crypto.pkcs12",
    "json",
)


def test_verifying_one_file_loads_no_signer_key_container_or_json(tmp_path: Path) -> None:
    out = _verify_one_file(tmp_path)
    assert out["code"] == 0  # the whole verification ran
    for module in NOT_FOR_VERIFYING:
        assert not _loaded(out["modules"], module), module
    # the lazy names still resolve, where they are asked for
    signing = _fresh(
        "import sys\nfrom ecert.crypto.cms import sign_cms\n"
        "out = {'name': sign_cms.__module__, 'signer': 'ecert.crypto.signer' in sys.modules}"
    )
    assert signing == {"name": "ecert.crypto.cms_sign", "signer": True}


def test_command_table_matches_what_the_groups_register(monkeypatch: pytest.MonkeyPatch) -> None:
    """``_COMMANDS`` routes each command to the module that registers it; nothing is missing."""
    registered: dict[str, str] = {}
    for module_name in ecert.cli._COMMAND_MODULES:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        __import__(module_name, fromlist=["register"]).register(sub)
        registered.update(dict.fromkeys(sub.choices, module_name))
    assert registered == ecert.cli._COMMANDS


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        ecert.cli.main(["--help"])
    text = capsys.readouterr().out
    for command in ecert.cli._COMMANDS:
        assert f"    {command}" in text, command
    assert ecert.cli.main([]) == ecert.cli.EXIT_USAGE
    assert "registry" in capsys.readouterr().out


def test_unknown_command_still_lists_every_choice(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        ecert.cli.main(["verfy"])
    assert exc.value.code == ecert.cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "invalid choice" in err and "'verify'" in err and "'batch'" in err


def test_callable_modules_in_any_import_order() -> None:
    out = _fresh(
        "import ecert.verify.report, ecert.collect.draft, ecert, inspect\n"
        "out = {'verify': callable(ecert.verify), 'collect': callable(ecert.collect),"
        " 'sig': str(inspect.signature(ecert.verify)), 'report': hasattr(ecert.verify, 'report'),"
        " 'package': callable(ecert.package), 'render': callable(ecert.render)}"
    )
    assert out["verify"] and out["collect"] and out["package"] and out["render"] and out["report"]
    assert str(out["sig"]).startswith("(data: 'bytes', *, trust:")
    from ecert import collect, verify  # the names users import

    assert verify.verify.__name__ == "verify" and callable(collect)
