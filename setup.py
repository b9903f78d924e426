"""Builds the native generation kernels (wavenet/generation/backends/_native.c); everything else is in pyproject.toml.

The extension is optional: without a C compiler the package installs anyway and generation
falls back to the plain torch backend.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "wavenet.generation.backends._native",
            sources=["wavenet/generation/backends/_native.c"],
            extra_compile_args=["-O3", "-std=gnu11", "-fno-math-errno", "-pthread"],
            extra_link_args=["-pthread"],
            optional=True,
        )
    ]
)
