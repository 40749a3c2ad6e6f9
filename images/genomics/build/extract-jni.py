"""Copy the JVM's native libraries for this machine out of the Spark and Hail jars.

A workspace's /tmp is mounted noexec, so libraries that the JVM would unpack
there at run time (zstd-jni, lz4-java, snappy-java) cannot be loaded. Unpacked
here, at build time, into a root-owned folder on the driver's and executors'
library path (spark-defaults.conf), they load from the read-only image instead.
usage: extract-jni.py SITE_PACKAGES DESTINATION
"""

import platform
import sys
import zipfile
from pathlib import Path

# Each jar's name for this architecture.
ARCH = {"x86_64": {"zstd": "amd64", "lz4": "amd64", "snappy": "x86_64"},
        "aarch64": {"zstd": "aarch64", "lz4": "aarch64", "snappy": "aarch64"}}[platform.machine()]
WANTED = [  # (jar glob, entry glob)
    ("pyspark/jars/zstd-jni-*.jar", f"linux/{ARCH['zstd']}/libzstd-jni-*.so"),
    ("pyspark/jars/lz4-java-*.jar", f"net/jpountz/util/linux/{ARCH['lz4']}/liblz4-java.so"),
    ("pyspark/jars/snappy-java-*.jar", f"org/xerial/snappy/native/Linux/{ARCH['snappy']}/libsnappyjava.so"),
]


def main(site_packages: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    for jar_glob, entry_glob in WANTED:
        (jar,) = site_packages.glob(jar_glob)
        with zipfile.ZipFile(jar) as archive:
            entries = [n for n in archive.namelist() if Path(n).match(entry_glob)]
            if len(entries) != 1:
                sys.exit(f"{jar.name}: expected one {entry_glob}, found {entries}")
            target = destination / Path(entries[0]).name
            target.write_bytes(archive.read(entries[0]))
            target.chmod(0o755)
            print(f"{jar.name} -> {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
