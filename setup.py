# cffi's setuptools hook (`cffi_modules`) is only reachable from setup(); all other
# metadata lives in pyproject.toml. build_ext also builds the board firmware's
# native target (the board simulator) into gateway/boards/bin/.
import importlib.util
import os

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def _firmware_builder():
    # Loaded by path: boards/firmware is not a Python package.
    spec = importlib.util.spec_from_file_location("build_firmware", os.path.join(HERE, "boards", "firmware", "build_firmware.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildExtWithFirmware(build_ext):
    def run(self):
        super().run()
        firmware = _firmware_builder()
        if self.inplace:
            package_dir = self.get_finalized_command("build_py").get_package_dir("gateway.boards")
        else:
            package_dir = os.path.join(self.build_lib, "gateway", "boards")
        firmware.build(os.path.join(package_dir, "bin", firmware.EXECUTABLE))


setup(cffi_modules=["native/build_native.py:ffibuilder"], cmdclass={"build_ext": BuildExtWithFirmware})
