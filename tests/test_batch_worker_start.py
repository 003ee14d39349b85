"""A pool worker that cannot open the library as it starts (the PostgreSQL server gone at that moment,
an unusable path) must not print a traceback: the batch's first chunk raises the library's error, and
the batch ends with its message (found by ``test_library_server_restart`` on a fresh clone)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from ecert.crypto.keys import save_private_key

from .certs import hierarchy

SCRIPT = textwrap.dedent(
    """
    import sys
    from concurrent.futures import ProcessPoolExecutor
    from pathlib import Path
    from ecert.batch.worker import IssuerFiles, _init_worker, _issue_rows, _Setup
    from ecert.catalog import default_catalog
    from ecert.errors import RegistryError

    folder = Path(sys.argv[1])
    issuer = IssuerFiles(folder / "key.pem", folder / "cert.pem")
    setup = _Setup(issuer, str(folder), default_catalog().get("11100000MB0143028R001"), str(folder), None)
    with ProcessPoolExecutor(1, initializer=_init_worker, initargs=(setup,)) as pool:
        try:
            pool.submit(_issue_rows, []).result()
        except RegistryError as exc:
            print("refused:", exc)
    """
)


def test_a_worker_that_cannot_open_the_library_hands_its_error_to_the_batch(tmp_path: Path) -> None:
    h = hierarchy()
    (tmp_path / "key.pem").write_bytes(save_private_key(h.issuer_key))
    (tmp_path / "cert.pem").write_bytes(h.issuer_cert.to_pem() + h.root_cert.to_pem())
    # the "registry" is the folder itself: SQLite cannot open a directory
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: cannot open registry"), done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
