# cffi's setuptools hook (`cffi_modules`) is only reachable from setup(); all other
# metadata lives in pyproject.toml.
from setuptools import setup

setup(cffi_modules=["native/build_native.py:ffibuilder"])
