#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the offline variant of the Flatpak manifest.

The variant differs from io.github.opentke.Tke.json in three things only: the runtime and SDK
(the Debian 12 ones flatpak/debian-runtime.sh makes), the source archives (Debian's source
packages in a local directory instead of the upstream URLs) and the source tree (a checkout given
on the command line). For each archive it says on stdout whether Debian's archive is the one the
manifest pins (same SHA-256) or a different one, and exits 1 when an archive has no Debian
counterpart in the directory.
"""
import argparse
import glob
import hashlib
import json
import os
import re
import sys

RUNTIME_PREFIX = "io.github.opentke.Debian12"
RUNTIME_BRANCH = "12"
# Debian's source package for each module the manifest builds from an archive.
DEBIAN_SOURCE = {"pcsc-lite": "pcsc-lite", "jansson": "jansson", "jose": "jose"}
# Build directories in a checkout that are not part of the source.
SKIP_PREFIXES = ("_build", "_flatpak", ".flatpak-builder", ".git")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def upstream_version(url):
    # ".../pcsc-lite-1.9.9.tar.bz2" -> "1.9.9"
    m = re.search(r"-(\d[\w.]*?)\.(tar\.\w+|tgz|zip)$", os.path.basename(url))
    return m.group(1) if m else None


def debian_archive(sources_dir, package, version):
    found = sorted(glob.glob(os.path.join(sources_dir, f"{package}_{version}.orig.tar.*")))
    return next((f for f in found if not f.endswith(".asc")), None)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("manifest", help="the real manifest (flatpak/io.github.opentke.Tke.json)")
    p.add_argument("--sources", required=True, help="directory of `apt-get source` downloads")
    p.add_argument("--checkout", required=True, help="the source tree to build")
    p.add_argument("--output", required=True, help="where the variant is written")
    args = p.parse_args()

    with open(args.manifest) as f:
        manifest = json.load(f)
    manifest["runtime"] = RUNTIME_PREFIX + ".Platform"
    manifest["sdk"] = RUNTIME_PREFIX + ".Sdk"
    manifest["runtime-version"] = RUNTIME_BRANCH

    missing = 0
    for module in manifest["modules"]:
        for source in module.get("sources", []):
            if source.get("type") == "archive":
                name = module["name"]
                package = DEBIAN_SOURCE.get(name, name)
                version = upstream_version(source["url"])
                local = debian_archive(args.sources, package, version) if version else None
                if local is None:
                    print(f"{name}: no Debian archive of {package} {version} in {args.sources}")
                    missing += 1
                    continue
                digest = sha256(local)
                if digest == source["sha256"]:
                    print(f"{name}: matching: Debian's {os.path.basename(local)} is "
                          f"{os.path.basename(source['url'])}, sha256 {digest}")
                else:
                    print(f"{name}: different archive: Debian's {os.path.basename(local)} "
                          f"(sha256 {digest}) is not the manifest's "
                          f"{os.path.basename(source['url'])} (sha256 {source['sha256']}, "
                          "not checked here)")
                del source["url"]
                source["path"] = os.path.abspath(local)
                source["sha256"] = digest
            elif source.get("type") == "dir":
                source["path"] = os.path.abspath(args.checkout)
                skip = set(source.get("skip", []))
                skip.update(e for e in os.listdir(args.checkout) if e.startswith(SKIP_PREFIXES))
                source["skip"] = sorted(skip)

    with open(args.output, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
