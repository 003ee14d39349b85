"""The web layer: pages and HTTP endpoints over the library (above ``share``, ``verify``, ``registry``).

Only the ASGI apps (:mod:`ecert.web.window`, :mod:`ecert.web.share`) import FastAPI, which comes with
the optional ``ecert[server]`` extra; they only translate HTTP to the library's typed calls and back.
The rest of this package (the verdict, the window's verifier) is plain library code that the core
keeps working without it.
"""
