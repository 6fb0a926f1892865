#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Reads the running app the way a screen reader does, through AT-SPI (an independent client of
# what GTK exposes), and prints one line per answer.
#
#   a11y-probe.py focus     the object that has the keyboard focus: ROLE|NAME|checked or -
#   a11y-probe.py unnamed   every control (buttons, check boxes, entries, spin buttons, tabs,
#                           menu items) of the app's windows whose name is missing: empty, a
#                           widget type's name, a mnemonic underline, or the same words twice
import re
import sys
import time

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi  # noqa: E402

CONTROLS = {
    "push button", "toggle button", "check box", "radio button", "entry", "text", "password text",
    "spin button", "combo box", "page tab", "menu item", "check menu item", "radio menu item",
    "slider", "switch", "link",
}


def app():
    desktop = Atspi.get_desktop(0)
    for _ in range(100):
        for i in range(desktop.get_child_count()):
            child = desktop.get_child_at_index(i)
            if child is not None and child.get_name() == "tke":
                return child
        time.sleep(0.1)
    sys.exit("the app tke is not on the accessibility bus")


def walk(obj, depth=0):
    yield obj
    if depth > 60:
        return
    for i in range(obj.get_child_count()):
        child = obj.get_child_at_index(i)
        if child is not None:
            yield from walk(child, depth + 1)


def missing(name):
    if not name or not name.strip():
        return "no name"
    if re.fullmatch(r"(Gtk|Adw|Tke)[A-Z]\w*", name):
        return "a type's name"
    if re.search(r"(^|\s)_\w", name):
        return "a mnemonic underline"
    words = name.split()
    half = len(words) // 2
    if half and len(words) % 2 == 0 and words[:half] == words[half:]:
        return "the same words twice"
    return None


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "focus"
    root = app()
    if what == "focus":
        for obj in walk(root):
            states = obj.get_state_set()
            if states.contains(Atspi.StateType.FOCUSED):
                checked = "checked" if states.contains(Atspi.StateType.CHECKED) else "-"
                print(f"{obj.get_role_name()}|{obj.get_name()}|{checked}")
                return
        print("none|-|-")
    elif what == "unnamed":
        for obj in walk(root):
            role = obj.get_role_name()
            if role in CONTROLS:
                why = missing(obj.get_name())
                if why:
                    print(f"{role} \"{obj.get_name()}\": {why}")
    else:
        sys.exit(f"usage: {sys.argv[0]} focus|unnamed")


main()
