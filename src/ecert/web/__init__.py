"""The web layer: pages and HTTP endpoints over the library (a layer above ``verify``, ``registry``, ``qr``).

Only :mod:`ecert.web.window` (the ASGI app) imports FastAPI, which comes with the optional
``ecert[server]`` extra; the rest of this package (the verdict, the window's verifier) is plain
library code that the core keeps working without it.
"""
