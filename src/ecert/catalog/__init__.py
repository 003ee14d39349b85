"""The catalogue of certificate types (分类与编码): types are data, loaded from JSON definitions.

A type's code is its defining authority's 统一社会信用代码 plus a 3-digit sequence (STANDARDS.md §4);
its items, validity rule, status profile and face come from ``spec/types/<code>.json``, checked
against ``spec/type.schema.json``.
"""

from ecert.catalog.loader import (
    TYPES_ENV,
    Catalog,
    InvalidTypeFile,
    TypeProblem,
    check_structure,
    default_catalog,
    load_catalog,
    load_type,
    load_type_file,
    type_schema,
)
from ecert.catalog.model import (
    CertificateType,
    DataItemSpec,
    FaceSpecData,
    HolderKind,
    ValidityRule,
)

__all__ = [
    "TYPES_ENV",
    "Catalog",
    "CertificateType",
    "DataItemSpec",
    "FaceSpecData",
    "HolderKind",
    "InvalidTypeFile",
    "TypeProblem",
    "ValidityRule",
    "check_structure",
    "default_catalog",
    "load_catalog",
    "load_type",
    "load_type_file",
    "type_schema",
]
