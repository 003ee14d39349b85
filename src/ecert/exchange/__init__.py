"""Province–city exchange (省市间接口): the signed trust bundle windows verify with, and signed
batches of library events (spec/trust-bundle.md, spec/exchange.md).

Layer 7: above ``crypto``, ``registry`` and ``verify``, below ``cli``.
"""

from ecert.exchange.bundle import BUNDLE_FORMAT, BundleStatus, TrustBundle, load_bundle_file, make_bundle

__all__ = ["BUNDLE_FORMAT", "BundleStatus", "TrustBundle", "load_bundle_file", "make_bundle"]
