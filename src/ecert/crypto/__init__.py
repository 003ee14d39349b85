"""Cryptography for e-certificates: SM3, SM2 (GB/T 32918), ECDSA P-256, Ed25519, RSA (verify),
keys, X.509 certificates, trust stores and CMS signed data.

Submodules: ``oids`` (every OID, with sources), ``digests``, ``sm2`` (curve arithmetic and
SM2 signatures), ``algorithms`` (one signing interface), ``keys``, ``x509``, ``trust``, ``cms``
(verification; ``cms_parse`` reads, ``cms_sign`` writes), ``hierarchy`` (demo issuing hierarchies).
"""
