"""Build the compiled core (Cython extensions over numpy arrays) at install time.

``pip install .`` / ``pip install -e .`` compile every ``btfdedup/**/*.pyx`` with the
machine's C compiler; nothing compiles at run time.  ``BTFDEDUP_LINETRACE=1`` builds
with Cython line tracing so coverage can report lines of the compiled code
(``.coveragerc`` enables the ``Cython.Coverage`` plugin); it is slower, for coverage runs only.
``BTFDEDUP_ONLY=a.pyx,b.pyx`` limits a development rebuild to those files.
"""

from __future__ import annotations

import os
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

LINETRACE = os.environ.get("BTFDEDUP_LINETRACE") == "1"

macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if LINETRACE:
    macros += [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")]

#: ``BTFDEDUP_ONLY=a.pyx,b.pyx python setup.py build_ext --inplace`` rebuilds just those (development)
ONLY = {p for p in os.environ.get("BTFDEDUP_ONLY", "").split(",") if p}

extensions = [
    Extension(
        ".".join(path.with_suffix("").parts),
        [str(path)],
        define_macros=macros,
        extra_compile_args=["-O2"] if not LINETRACE else ["-O0"],
    )
    for path in sorted(Path("btfdedup").rglob("*.pyx"))
    if not ONLY or str(path) in ONLY
]

setup(
    # compile the generated C files in parallel too (cythonize's nthreads covers .pyx -> .c)
    options={"build_ext": {"parallel": os.cpu_count() or 1}},
    ext_modules=cythonize(
        extensions,
        nthreads=os.cpu_count() or 1,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "initializedcheck": False,
            "cdivision": True,
            "embedsignature": True,
            "linetrace": LINETRACE,
        },
    ),
)
