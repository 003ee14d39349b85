"""Object identifiers ecert reads and writes, each with its source.

OFD signature files, X.509 certificates, CMS and GB/T 38540 seals name algorithms by
OID, so the OIDs live here, in one place.
"""

from __future__ import annotations

from typing import Final

# GM/T 0006-2012 / GB/T 33560-2017 (Chinese cryptographic algorithm identifiers)
SM2_CURVE: Final = "1.2.156.10197.1.301"  # sm2p256v1 named curve
SM2_SIGNATURE: Final = "1.2.156.10197.1.301.1"  # SM2-1 digital signature algorithm (rarely used alone)
SM3: Final = "1.2.156.10197.1.401"
SM3_WITH_SM2: Final = "1.2.156.10197.1.501"  # SM2 signature with SM3 digest
SM4: Final = "1.2.156.10197.1.104"

# GM/T 0010-2012 / GB/T 35275-2017: SM2 cryptographic message syntax content types
GM_DATA: Final = "1.2.156.10197.6.1.4.2.1"
GM_SIGNED_DATA: Final = "1.2.156.10197.6.1.4.2.2"

# RFC 5652 (CMS) content types and attributes
PKCS7_DATA: Final = "1.2.840.113549.1.7.1"
PKCS7_SIGNED_DATA: Final = "1.2.840.113549.1.7.2"
ATTR_CONTENT_TYPE: Final = "1.2.840.113549.1.9.3"
ATTR_MESSAGE_DIGEST: Final = "1.2.840.113549.1.9.4"
ATTR_SIGNING_TIME: Final = "1.2.840.113549.1.9.5"

# RFC 5480 / RFC 5758 / RFC 8410 / RFC 8017 (the usual ones)
EC_PUBLIC_KEY: Final = "1.2.840.10045.2.1"
SECP256R1: Final = "1.2.840.10045.3.1.7"
ECDSA_WITH_SHA256: Final = "1.2.840.10045.4.3.2"
ECDSA_WITH_SHA384: Final = "1.2.840.10045.4.3.3"
ECDSA_WITH_SHA512: Final = "1.2.840.10045.4.3.4"
ED25519: Final = "1.3.101.112"
RSA_ENCRYPTION: Final = "1.2.840.113549.1.1.1"
SHA256_WITH_RSA: Final = "1.2.840.113549.1.1.11"
SHA384_WITH_RSA: Final = "1.2.840.113549.1.1.12"
SHA512_WITH_RSA: Final = "1.2.840.113549.1.1.13"
RSASSA_PSS: Final = "1.2.840.113549.1.1.10"
SHA256: Final = "2.16.840.1.101.3.4.2.1"
SHA384: Final = "2.16.840.1.101.3.4.2.2"
SHA512: Final = "2.16.840.1.101.3.4.2.3"

# weak algorithms that are recognised only to be refused with a precise message
SHA1: Final = "1.3.14.3.2.26"
MD5: Final = "1.2.840.113549.2.5"
SHA1_WITH_RSA: Final = "1.2.840.113549.1.1.5"
MD5_WITH_RSA: Final = "1.2.840.113549.1.1.4"
ECDSA_WITH_SHA1: Final = "1.2.840.10045.4.1"

WEAK: Final = frozenset({SHA1, MD5, SHA1_WITH_RSA, MD5_WITH_RSA, ECDSA_WITH_SHA1})
