#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal, as a person at a terminal would: stdin, stdout and stderr
are the terminal, and ANSWER (with `\\n` for Enter) is typed in. Prints everything the command
wrote and exits with its exit code. Used by the CLI's tests of questions asked on a terminal.

    run.py ANSWER COMMAND [ARG...]
"""

import os
import pty
import select
import subprocess
import sys


def main():
    answer, command = sys.argv[1].encode(), sys.argv[2:]
    master, slave = pty.openpty()
    child = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True)
    os.close(slave)
    # Typed ahead: the terminal holds it until the command reads its answer.
    os.write(master, answer)
    output = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            child.kill()
            sys.stderr.write("no output for 120 s: killed\n")
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the command exited and closed the terminal
            break
        if not data:
            break
        output += data
    code = child.wait()
    sys.stdout.write(output.decode("utf-8", "replace"))
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
