#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Migrate a QEMU over QMP and wait for the end; or run one QMP command.

    qmp-migrate.py [--downtime-limit MS] [--cont] SRC_QMP URI TIMEOUT [DST_QMP]
    qmp-migrate.py --cmd QMP COMMAND [JSON_ARGUMENTS]

The first form runs "migrate" with QEMU's migration parameters as they
are, except the downtime limit when --downtime-limit is given (QEMU 7.2
needs a large one: a VFIO device behind type1 has all RAM reported dirty
at each pass, so its default limit never converges), waits for completed
or failed, then waits for the destination (if given) to leave
"inmigrate"; with --cont it then starts a destination that stayed paused
and waits for it to run.  Prints the outcome, then one line

    qmp-migrate: result status=S total-time=MS downtime=MS setup-time=MS
        downtime-limit=MS ram-transferred=BYTES destination=S
        destination-after-cont=S

(on one line; a field QEMU did not report is "-") for the scripts to
parse.  Exits 0 only when the migration completed.

The second form prints the command's return value as JSON (exit 1 on an
error reply).
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
            line = self.file.readline()
            if not line:
                raise RuntimeError("%s: QMP connection closed" % name)
            reply = json.loads(line)
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError("%s: %s" % (name, reply["error"]["desc"]))


def one_command(argv):
    path, name = argv[0], argv[1]
    args = json.loads(argv[2]) if len(argv) > 2 else {}
    try:
        print(json.dumps(QMP(path).cmd(name, **args)))
    except (RuntimeError, OSError) as e:
        print("qmp-migrate: %s" % e, file=sys.stderr)
        return 1
    return 0


def field(info, name):
    return str(info[name]) if name in info else "-"


def main():
    argv = sys.argv[1:]
    if argv and argv[0] == "--cmd":
        return one_command(argv[1:])
    limit = None
    cont = False
    while argv and argv[0].startswith("--"):
        if argv[0] == "--downtime-limit":
            limit = int(argv[1])
            argv = argv[2:]
        elif argv[0] == "--cont":
            cont = True
            argv = argv[1:]
        else:
            print("qmp-migrate: unknown option %s" % argv[0], file=sys.stderr)
            return 2
    src_path, uri, timeout = argv[0], argv[1], float(argv[2])
    deadline = time.time() + timeout
    # The destination's QMP answers once it listens for the migration.
    dst = QMP(argv[3]) if len(argv) > 3 else None
    src = QMP(src_path)
    if limit is not None:
        src.cmd("migrate-set-parameters", **{"downtime-limit": limit})
    params = src.cmd("query-migrate-parameters")
    print("qmp-migrate: downtime-limit %s ms%s, max-bandwidth %s bytes/s" % (
        params.get("downtime-limit", "?"),
        "" if limit is not None else " (QEMU's default)",
        params.get("max-bandwidth", "?")))
    try:
        src.cmd("migrate", uri=uri)
    except RuntimeError as e:
        # e.g. a migration blocker: "VFIO migration is not supported in kernel"
        print("qmp-migrate: refused: %s" % e)
        print("qmp-migrate: result status=refused")
        return 1
    while True:
        info = src.cmd("query-migrate")
        status = info.get("status")
        if status in ("completed", "failed", "cancelled"):
            break
        if time.time() > deadline:
            print("qmp-migrate: still %s after %.0f s: %s" % (
                status, timeout, json.dumps(info)))
            return 1
        time.sleep(0.5)
    msg = "qmp-migrate: source %s" % status
    if "total-time" in info:
        msg += " in %d ms, %d bytes of RAM sent" % (
            info["total-time"], info.get("ram", {}).get("transferred", 0))
    if "downtime" in info:
        msg += ", downtime %d ms" % info["downtime"]
    if info.get("error-desc"):
        msg += ": " + info["error-desc"]
    print(msg)
    dst_status = "-"
    rc = 0 if status == "completed" else 1
    if dst and rc == 0:
        while dst.cmd("query-status")["status"] == "inmigrate":
            if time.time() > deadline:
                print("qmp-migrate: destination still inmigrate")
                rc = 1
                break
            time.sleep(0.5)
        # "prelaunch" or "paused": loaded, and paused as it was started
        # (-S) or as the source was; "running": started after the load
        dst_status = dst.cmd("query-status")["status"]
        print("qmp-migrate: destination %s" % dst_status)
    after_cont = "-"
    if dst and rc == 0 and cont and dst_status != "running":
        try:
            dst.cmd("cont")
            while dst.cmd("query-status")["status"] != "running":
                if time.time() > deadline:
                    break
                time.sleep(0.2)
            after_cont = dst.cmd("query-status")["status"]
        except RuntimeError as e:
            print("qmp-migrate: %s" % e)
            after_cont = "error"
        print("qmp-migrate: destination after cont: %s" % after_cont)
        if after_cont != "running":
            rc = 1
    print("qmp-migrate: result status=%s total-time=%s downtime=%s "
          "setup-time=%s downtime-limit=%s ram-transferred=%s destination=%s "
          "destination-after-cont=%s" % (
              status, field(info, "total-time"), field(info, "downtime"),
              field(info, "setup-time"), params.get("downtime-limit", "-"),
              info.get("ram", {}).get("transferred", "-"), dst_status,
              after_cont))
    return rc


if __name__ == "__main__":
    sys.exit(main())
