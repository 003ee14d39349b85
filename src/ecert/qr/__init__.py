"""QR codes of certificates (spec/qr.md): the offline signed payload a window checks without a
network, the reference payload, their text forms and symbols.

``ecert.qr.offline`` signs offline payloads (``ecert.verify.qr`` verifies them), ``ecert.qr.payload``
is their grammar, ``ecert.qr.base41`` the shell-safe text form, ``ecert.qr.image`` the symbols
(zxing-cpp).
"""
