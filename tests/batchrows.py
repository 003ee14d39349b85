"""Batch input files for tests: the shipped example rows followed by generated valid companies.

Several tests need "the example batch and N more valid rows" (fictional companies with valid USCCs);
one writer keeps them from drifting apart.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ecert.codes import org_code, uscc

ROOT = Path(__file__).resolve().parents[1]
TYPE = "11100000MB0143028R001"  # 营业执照
EXAMPLE_BATCH = ROOT / "examples" / "batch" / f"{TYPE}.csv"  # 22 rows, lines 7 and 15 invalid
EXAMPLE_RECORDS = ROOT / "examples" / "records" / f"{TYPE}.csv"  # valid rows only


def company_uscc(prefix: str, i: int) -> str:
    """A valid 统一社会信用代码 for fictional company ``i`` (``prefix``: two letters keeping tests apart)."""
    org = f"{prefix}{i:06d}"
    body = f"91110108{org}{org_code.calc_check_char(org)}"
    return body + uscc.calc_check_char(body)


def write_rows(
    path: Path,
    n: int,
    *,
    start: int = 0,
    prefix: str = "MB",
    label: str = "批量",
    before: Path | None = None,
    template: Path = EXAMPLE_RECORDS,
) -> Path:
    """Write ``before``'s rows (if any), then ``n`` valid rows of TYPE made from ``template``'s first row."""
    with open(template, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header, first = list(reader.fieldnames or []), next(reader)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        if before is not None:
            with open(before, encoding="utf-8-sig", newline="") as src:
                writer.writerows(csv.DictReader(src))
        for i in range(start, start + n):
            name = f"示例{label}第{i}号有限公司"
            writer.writerow({**first, "统一社会信用代码": company_uscc(prefix, i), "名称": name})
    return path
