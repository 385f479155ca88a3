#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Migrate a QEMU over QMP and wait for the end.

    qmp-migrate.py SRC_QMP URI TIMEOUT [DST_QMP]

Sets a large downtime limit (a VFIO device behind a real IOMMU has all RAM
reported dirty at each pass, so the default limit never converges), runs
"migrate", waits for completed or failed, then waits for the destination
(if given) to leave "inmigrate".  Prints the outcome; exits 0 only when
the migration completed.
"""
import json
import socket
import sys
import time


class QMP:
    def __init__(self, path, timeout=60):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        self.file = self.sock.makefile("rw")
        json.loads(self.file.readline())
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.file.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError("%s: %s" % (name, reply["error"]["desc"]))


def main():
    src_path, uri, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    deadline = time.time() + timeout
    # The destination's QMP answers once it listens for the migration.
    dst = QMP(sys.argv[4]) if len(sys.argv) > 4 else None
    src = QMP(src_path)
    src.cmd("migrate-set-parameters", **{"downtime-limit": 60000})
    src.cmd("migrate", uri=uri)
    while True:
        info = src.cmd("query-migrate")
        status = info.get("status")
        if status in ("completed", "failed", "cancelled"):
            break
        if time.time() > deadline:
            print("qmp-migrate: still %s after %.0f s" % (status, timeout))
            return 1
        time.sleep(1)
    msg = "qmp-migrate: source %s" % status
    if "total-time" in info:
        msg += " in %d ms, %d bytes of RAM sent" % (
            info["total-time"], info.get("ram", {}).get("transferred", 0))
    if info.get("error-desc"):
        msg += ": " + info["error-desc"]
    print(msg)
    if status != "completed":
        return 1
    if dst:
        while dst.cmd("query-status")["status"] == "inmigrate":
            if time.time() > deadline:
                print("qmp-migrate: destination still inmigrate")
                return 1
            time.sleep(1)
        # "prelaunch": loaded, and paused as it was started (-S)
        print("qmp-migrate: destination %s" % dst.cmd("query-status")["status"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
