"""What supervisord runs for each program: ``python -m crypto_insights.stack.launcher --env-file F -- argv...``.

1. reads the program's environment from F (JSON, 0600: it holds passwords, so it is not in supervisord.conf),
   which carries the program's marker (see process_marks);
2. ends every process still carrying that marker: what an earlier run left behind, such as the trigger-runner
   child of a `kill -9`ed triggerer (it would run the triggers twice) or a child still holding the program's port;
3. execs the real command in place, so supervisord supervises (and signals) the real process.

Standard library only: it runs on every (re)start of every program.
"""

from __future__ import annotations

import json
import os
import sys

from crypto_insights.stack.process_marks import MARKER_ENV, marked_pids, terminate


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[0] != "--env-file" or argv[2] != "--":
        print("usage: python -m crypto_insights.stack.launcher --env-file FILE -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        env: dict[str, str] = json.load(f)
    marker_value = env.get(MARKER_ENV)
    if not marker_value:
        print(f"{argv[1]} has no {MARKER_ENV}", file=sys.stderr)
        return 2
    stale = marked_pids(lambda value: value == marker_value)  # never this process: it is not marked yet
    if stale:
        print(
            f"launcher: ending {len(stale)} stale process(es) of {marker_value}: {stale}", file=sys.stderr, flush=True
        )
        terminate(stale)
    command = argv[3:]
    os.execvpe(command[0], command, env)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
