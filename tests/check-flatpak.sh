#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Checks (TAP) the Flatpak's manifest, the local paths it names and the scripts' syntax, in a
# second. The flatpak suite (tests/flatpak) builds, installs and runs it.
set -u
top=${TKE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
exec /usr/bin/python3 - "$top" <<'PY'
import json
import os
import re
import shutil
import subprocess
import sys

top = sys.argv[1]
flatpak_dir = os.path.join(top, "flatpak")
manifest_path = os.path.join(flatpak_dir, "io.github.opentke.Tke.json")
bundle_script = os.path.join(flatpak_dir, "build-bundle.sh")
n = 0
failed = 0


def check(ok, what, why=""):
    global n, failed
    n += 1
    if ok:
        print(f"ok {n} {what}")
    else:
        failed += 1
        print(f"not ok {n} {what}")
        for line in why.splitlines():
            print(f"# {line}")



try:
    with open(manifest_path) as f:
        manifest = json.load(f)
    check(isinstance(manifest, dict), "the manifest parses as a JSON object")
except (OSError, ValueError) as e:
    check(False, "the manifest parses as a JSON object", str(e))
    print(f"1..{n}")
    sys.exit(1)

project_meson = open(os.path.join(top, "meson.build")).read()
m = re.search(r"^app_id\s*=\s*'([^']+)'", project_meson, re.M)
check(manifest.get("app-id") == "io.github.opentke.Tke",
      "app-id is io.github.opentke.Tke", f"it is {manifest.get('app-id')!r}")
check(m is not None and m.group(1) == manifest.get("app-id"),
      "app-id matches app_id in meson.build",
      f"meson.build says {m.group(1) if m else 'nothing'!r}")
check(manifest.get("command") == "tke", "command is tke", f"it is {manifest.get('command')!r}")

# GTK 4.8 and libadwaita 1.2 first shipped in GNOME 43; older runtimes lack the API floor.
runtime_version = str(manifest.get("runtime-version", ""))
check(manifest.get("runtime") == "org.gnome.Platform" and manifest.get("sdk") == "org.gnome.Sdk"
      and runtime_version.isdigit() and int(runtime_version) >= 43,
      "runtime is org.gnome.Platform/Sdk 43 or newer",
      f"it is {manifest.get('runtime')}//{runtime_version} with {manifest.get('sdk')}")

finish_args = manifest.get("finish-args", [])
for arg in ["--socket=pcsc", "--share=network", "--socket=wayland", "--socket=fallback-x11",
            "--device=dri"]:
    check(arg in finish_args, f"finish-args include {arg}")
too_wide = [a for a in finish_args
            if a in ("--filesystem=host", "--filesystem=home", "--device=all", "--socket=x11",
                     "--socket=session-bus", "--socket=system-bus")]
check(not too_wide, "finish-args grant no host files, all devices, plain X11 or whole buses",
      " ".join(too_wide))

modules = manifest.get("modules", [])
names = [mod.get("name") if isinstance(mod, dict) else mod for mod in modules]
for name in ["pcsc-lite", "jansson", "jose"]:
    check(name in names, f"module {name} is built")
check(bool(names) and names[-1] == "opentke", "opentke is the last module, after its dependencies",
      f"modules are {names}")
if "jansson" in names and "jose" in names:
    check(names.index("jansson") < names.index("jose"), "jansson is built before jose")

pcsc = next((mod for mod in modules if isinstance(mod, dict) and mod.get("name") == "pcsc-lite"),
            {})
opts = " ".join(pcsc.get("config-opts", []))
for feature in ["libsystemd", "libudev", "polkit"]:
    check(f"--disable-{feature}" in opts or f"-D{feature}=false" in opts,
          f"pcsc-lite is built without {feature} (client library only)", f"config-opts: {opts}")
check(any(c.startswith("/sbin") for c in pcsc.get("cleanup", [])),
      "the pcscd daemon is removed from the app (the host's pcscd serves --socket=pcsc)")

remote_types = {"archive", "file"}
for mod in modules:
    if not isinstance(mod, dict):
        check(os.path.exists(os.path.join(flatpak_dir, mod)), f"module file {mod} exists")
        continue
    for src in mod.get("sources", []):
        if isinstance(src, str):
            check(os.path.exists(os.path.join(flatpak_dir, src)),
                  f"{mod['name']}: source file {src} exists")
            continue
        kind = src.get("type")
        if kind in remote_types and "url" in src:
            url = src["url"]
            check(url.startswith("https://") and re.fullmatch(r"[0-9a-f]{64}", src.get("sha256", ""))
                  is not None, f"{mod['name']}: {url} is https and pinned by a sha256",
                  f"sha256 {src.get('sha256')!r}")
        for key in ("path", "paths"):
            if key not in src:
                continue
            for p in src[key] if isinstance(src[key], list) else [src[key]]:
                check(os.path.exists(os.path.join(flatpak_dir, p)),
                      f"{mod['name']}: {kind} path {p} exists relative to flatpak/")
        if kind == "dir":
            check(os.path.exists(os.path.join(flatpak_dir, src.get("path", ""), "meson.build")),
                  f"{mod['name']}: the dir source is the meson project's root")

check(not any("--share=network" in a for a in manifest.get("build-options", {}).get("build-args", [])),
      "the build itself gets no network (no --share=network in build-args)")

shellcheck = shutil.which("shellcheck")
for script_name in ["build-bundle.sh", "debian-runtime.sh", "offline-build.sh"]:
    script_path = os.path.join(flatpak_dir, script_name)
    check(os.access(script_path, os.X_OK), f"flatpak/{script_name} is executable")
    r = subprocess.run(["bash", "-n", script_path], capture_output=True, text=True)
    check(r.returncode == 0, f"flatpak/{script_name} passes bash -n", r.stderr.strip())
    if shellcheck:
        r = subprocess.run([shellcheck, script_path], capture_output=True, text=True)
        check(r.returncode == 0, f"flatpak/{script_name} passes shellcheck", r.stdout.strip())
    else:
        n += 1
        print(f"ok {n} flatpak/{script_name} passes shellcheck # SKIP shellcheck is not installed")
script = open(bundle_script).read()
check("build-bundle --runtime" in script,
      "flatpak/build-bundle.sh bundles the runtime too (flatpak build-bundle --runtime)")

print(f"1..{n}")
sys.exit(1 if failed else 0)
PY
