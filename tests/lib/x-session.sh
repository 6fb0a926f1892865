# SPDX-License-Identifier: GPL-3.0-or-later
# Sourced by the GUI tests that drive the app from outside: a home of their own and an X server
# with a session bus of its own, so that nothing of the machine's session is touched.
#
# isolate_home DIR: HOME and the XDG directories under DIR/home, settings in memory, schemas of
# the build tree $build, no accessibility bus, and tesseract on one thread (2-core machines).
# start_x_session: Xvfb at 1280x800 and a session bus, run from the current directory (which
# keeps their files); exports DISPLAY and DBUS_SESSION_BUS_ADDRESS and appends both pids to the
# array pids, which the test's cleanup kills.
# enter_work_dir: a temporary directory as the current one, removed at exit after the app
# ($tke_pid) and everything in pids are stopped.

enter_work_dir () {
  work=$(mktemp -d)
  pids=()
  tke_pid=''
  trap cleanup EXIT
  cd "$work" || exit 1
}
cleanup () {
  [ -n "$tke_pid" ] && kill "$tke_pid" 2>/dev/null
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}

isolate_home () {
  mkdir -p "$1/home"
  export HOME=$1/home XDG_CONFIG_HOME=$1/home/.config XDG_DATA_HOME=$1/home/.local/share
  export GSETTINGS_BACKEND=memory GSETTINGS_SCHEMA_DIR=$build/data GTK_A11Y=none NO_AT_BRIDGE=1
  export OMP_THREAD_LIMIT=1
}

start_x_session () {
  # -noreset: the server stays as it is when its last client leaves, so that an app started
  # again right after another one quit does not find it resetting ("cannot open display").
  Xvfb -displayfd 5 -noreset -screen 0 1280x800x24 5>display >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s display ] && break; sleep 0.1; done
  export DISPLAY=:$(head -n 1 display)
  dbus-daemon --session --fork --print-address=6 --print-pid=7 6>bus 7>bus.pid
  export DBUS_SESSION_BUS_ADDRESS=$(head -n 1 bus)
  pids+=("$(cat bus.pid)")
}
