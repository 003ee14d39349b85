"""Regenerate examples/batch/<TYPE CODE>.csv: 22 rows per shipped type, two of them deliberately invalid.

    python scripts/make_batch_examples.py

Rows are derived from the first row of examples/records/<TYPE CODE>.csv with fictional names and
numbers; holder codes get valid check characters (GB 32100 / GB 11643).  Row 6 carries a holder
code with a wrong check character; row 14 lacks the holder's name.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ecert.catalog import default_catalog
from ecert.codes import citizen_id, org_code, uscc

ROOT = Path(__file__).resolve().parents[1]
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"


def _uscc(i: int) -> str:
    org = f"MA{i:06d}"
    body = f"91110108{org}{org_code.calc_check_char(org)}"
    return body + uscc.calc_check_char(body)


def _citizen(i: int) -> str:
    body = f"11010819{80 + i % 20:02d}0{1 + i % 9}1{i % 9}{100 + i:03d}"[:17]
    return body + citizen_id.calc_check_char(body)


def main() -> None:
    for ctype in default_catalog():
        source = ROOT / "examples" / "records" / f"{ctype.code}.csv"
        with open(source, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            template = next(reader)
        holder_code_col = next(
            h for h in header if ctype.item("holder_code") and h in _names(ctype, "holder_code")
        )
        name_col = next(h for h in header if h in _names(ctype, "holder_name"))
        number_col = header[0]
        natural = ctype.holder_code_types == ("111",)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for i in range(1, 23):
            row = dict(template)
            row[number_col] = f"{template[number_col][:-3]}{i:03d}"
            code = _citizen(i) if natural else _uscc(i)
            if i == 6:  # deliberately invalid: wrong check character
                code = code[:-1] + ("0" if code[-1] != "0" else "1")
            row[holder_code_col] = code
            row[name_col] = (
                "" if i == 14 else (f"{SURNAMES[i]}示例" if natural else f"示例{SURNAMES[i]}氏第{i}有限公司")
            )
            writer.writerow(row)
        (ROOT / "examples" / "batch" / f"{ctype.code}.csv").write_text(out.getvalue(), encoding="utf-8")


def _names(ctype: object, item: str) -> set[str]:
    spec = ctype.item(item)  # type: ignore[attr-defined]
    return {spec.label, *spec.source_names, spec.name} if spec else set()


if __name__ == "__main__":
    main()
