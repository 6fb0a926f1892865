#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Start-up benchmark: time from spawn to first painted frame, and peak memory, of tke and of a
# minimal libadwaita window, measured in the same run and compared with the goals.
"""Usage: bench-startup.py [--runs N] [--timeout S] [--assert-goals] TKE MINIMAL

Each program is started with TKE_EXIT_AFTER_FIRST_FRAME=1; it must print one line
"first-frame-us <N>" (N = g_get_monotonic_time () when its window's first frame was painted,
CLOCK_MONOTONIC in microseconds) and exit with status 0. The time to first frame is N minus
CLOCK_MONOTONIC read just before the spawn; the peak memory is ru_maxrss from wait4 ().
The two programs run alternately, N times each, after one warm-up run each that is not counted
(it fills the page cache for both alike). Exits 1 when a run fails, and with --assert-goals
also when a goal is missed; a missed goal is otherwise reported, not fatal.
"""

import argparse
import os
import re
import select
import signal
import statistics
import sys
import time

GOAL_TIME_RATIO = 1.3
GOAL_MEMORY_MIB = 40.0
FIRST_FRAME_RE = re.compile(rb"^first-frame-us (\d+)$")


class RunFailed(Exception):
    pass


def monotonic_us():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def run_once(program, timeout_s):
    """Spawns program once; returns (time to first frame in µs, peak RSS in KiB)."""
    env = dict(os.environ)
    env["TKE_EXIT_AFTER_FIRST_FRAME"] = "1"
    read_fd, write_fd = os.pipe()
    file_actions = [
        (os.POSIX_SPAWN_DUP2, write_fd, 1),
        (os.POSIX_SPAWN_CLOSE, read_fd),
        (os.POSIX_SPAWN_CLOSE, write_fd),
    ]
    start_us = monotonic_us()
    pid = os.posix_spawn(program, [program], env, file_actions=file_actions)
    os.close(write_fd)

    output = b""
    first_frame_us = None
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                raise RunFailed(f"{program} printed no first-frame line within {timeout_s} s")
            ready, _, _ = select.select([read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_fd, 4096)
            if not chunk:
                break
            output += chunk
    finally:
        os.close(read_fd)
        _, status, rusage = os.wait4(pid, 0)

    for line in output.splitlines():
        match = FIRST_FRAME_RE.match(line.strip())
        if match:
            first_frame_us = int(match.group(1))
    if os.WIFSIGNALED(status):
        raise RunFailed(f"{program} was killed by signal {os.WTERMSIG(status)}")
    if os.WEXITSTATUS(status) != 0:
        raise RunFailed(f"{program} exited with status {os.WEXITSTATUS(status)}")
    if first_frame_us is None:
        raise RunFailed(f"{program} exited without printing 'first-frame-us <N>'")
    if first_frame_us < start_us:
        raise RunFailed(f"{program} reported a first frame before it was started: "
                        "its clock is not CLOCK_MONOTONIC in microseconds")
    return first_frame_us - start_us, rusage.ru_maxrss


def main():
    parser = argparse.ArgumentParser(usage=__doc__.splitlines()[0][len("Usage: "):])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds a single run may take to its first frame")
    parser.add_argument("--assert-goals", action="store_true")
    parser.add_argument("tke")
    parser.add_argument("minimal")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    programs = {"tke": os.path.abspath(args.tke), "minimal": os.path.abspath(args.minimal)}
    for name, path in programs.items():
        if not os.access(path, os.X_OK):
            print(f"bench: {name} program {path} is not an executable file", file=sys.stderr)
            return 1

    times = {name: [] for name in programs}
    rss_kib = {name: [] for name in programs}
    try:
        for name, path in programs.items():
            run_once(path, args.timeout)
        for i in range(args.runs):
            order = ["tke", "minimal"] if i % 2 == 0 else ["minimal", "tke"]
            for name in order:
                t_us, rss = run_once(programs[name], args.timeout)
                times[name].append(t_us)
                rss_kib[name].append(rss)
                print(f"run {i + 1:2d} {name:8s} first frame {t_us / 1000:8.1f} ms  "
                      f"peak RSS {rss / 1024:7.1f} MiB", flush=True)
    except RunFailed as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1

    med_t = {n: statistics.median(v) / 1000 for n, v in times.items()}
    min_t = {n: min(v) / 1000 for n, v in times.items()}
    med_rss = {n: statistics.median(v) / 1024 for n, v in rss_kib.items()}

    print()
    print(f"{'':10s} {'median ms':>10s} {'min ms':>10s} {'median peak RSS MiB':>20s}")
    for name in programs:
        print(f"{name:10s} {med_t[name]:10.1f} {min_t[name]:10.1f} {med_rss[name]:20.1f}")
    ratio = med_t["tke"] / med_t["minimal"]
    extra_mib = med_rss["tke"] - med_rss["minimal"]
    time_ok = ratio <= GOAL_TIME_RATIO
    memory_ok = extra_mib <= GOAL_MEMORY_MIB
    print()
    print(f"time to first frame tke/minimal (medians): {ratio:.2f}x  "
          f"goal <= {GOAL_TIME_RATIO}x: {'met' if time_ok else 'MISSED'}")
    print(f"peak memory tke - minimal (medians): {extra_mib:+.1f} MiB  "
          f"goal <= {GOAL_MEMORY_MIB:.0f} MiB: {'met' if memory_ok else 'MISSED'}")
    print(f"({args.runs} runs each, alternating, after one uncounted warm-up run each)")
    if args.assert_goals and not (time_ok and memory_ok):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
