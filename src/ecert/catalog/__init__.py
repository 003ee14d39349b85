"""The catalogue of certificate types (分类与编码): types are data, loaded from JSON definitions."""

from ecert.catalog.loader import Catalog, default_catalog, load_type, load_type_file
from ecert.catalog.model import CertificateType, DataItemSpec, FaceSpecData, HolderKind, ValidityRule

__all__ = [
    "Catalog",
    "CertificateType",
    "DataItemSpec",
    "FaceSpecData",
    "HolderKind",
    "ValidityRule",
    "default_catalog",
    "load_type",
    "load_type_file",
]
