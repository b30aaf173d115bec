#!/usr/bin/python3
# The accessibility tree of an application, as a screen reader sees it (AT-SPI through pyatspi), for the lab:
# prints one JSON object {"applications": [names], "nodes": [{"depth", "role", "name", "window", "states"}]}
# with every node of the application named argv[1] (its windows and their descendants), "window" being the name
# of the window (frame, dialog…) a node is in. Waits up to argv[2] seconds (default 10) for the application.
# Run it as the application's user, in its session's environment (DISPLAY, DBUS_SESSION_BUS_ADDRESS).
import json
import sys
import time

import pyatspi

app_name = sys.argv[1]
deadline = time.monotonic() + float(sys.argv[2] if len(sys.argv) > 2 else 10)


def walk(acc, depth, window, out):
    role = acc.getRoleName()
    if depth == 1:
        window = acc.name
    states = acc.getState()
    out.append({'depth': depth, 'role': role, 'name': acc.name or '', 'window': window,
                'states': [pyatspi.stateToString(s) for s in states.getStates()
                           if s in (pyatspi.STATE_SHOWING, pyatspi.STATE_SENSITIVE, pyatspi.STATE_FOCUSABLE)]})
    for i in range(acc.childCount):
        child = acc.getChildAtIndex(i)
        if child is not None:
            walk(child, depth + 1, window, out)


while True:
    desktop = pyatspi.Registry.getDesktop(0)
    apps = [desktop.getChildAtIndex(i) for i in range(desktop.childCount)]
    names = [a.name for a in apps if a is not None]
    app = next((a for a in apps if a is not None and a.name == app_name), None)
    if app is not None or time.monotonic() > deadline:
        break
    time.sleep(0.2)

nodes = []
if app is not None:
    walk(app, 0, '', nodes)
print(json.dumps({'applications': names, 'nodes': nodes}))
