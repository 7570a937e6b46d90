"""The wheel's tags (the rest of the package's definition is pyproject.toml).

A wheel built with libsvq.so inside the package (scripts/build-wheel.sh puts it there) is a platform wheel,
for any Python 3: the library is loaded with ctypes, so no Python ABI is involved. Without the library
(a plain `pip install` of this folder) the package is pure Python and finds libsvq elsewhere.
"""

import pathlib

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel

CARRIES_LIBRARY = (pathlib.Path(__file__).resolve().parent / "svq" / "libsvq.so").exists()


class PackageDistribution(Distribution):
    def has_ext_modules(self):
        return CARRIES_LIBRARY  # installs into platlib and makes bdist_wheel tag the platform


class BdistWheel(bdist_wheel):
    def get_tag(self):
        python, abi, platform = super().get_tag()
        return ("py3", "none", platform) if CARRIES_LIBRARY else (python, abi, platform)


setup(distclass=PackageDistribution, cmdclass={"bdist_wheel": BdistWheel})
