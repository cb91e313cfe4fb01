"""One warm Lambda execution environment: run as `python -I -S worker.py CONFIG_JSON`.

`-I -S` leave only the standard library importable; `CONFIG_JSON` names the folders the
function really has (its code asset, its dependencies, the SDK the runtime provides) and its
handler. Events arrive one JSON line at a time on stdin; each result is written to stdout
after a marker line, so the function's own logs (JSON lines, EMF metrics) stay readable there.
This file imports nothing but the standard library, on purpose.
"""

import importlib
import json
import sys
import time
import traceback
import uuid

RESULT_MARKER = "@@ragline-deployed-test-result@@"


class LambdaContext:
    """The attributes of the Lambda runtime's context object that Powertools reads."""

    def __init__(self, function_name: str, memory_mb: int, timeout_s: int, arn: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = arn
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "deployed-test"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def peak_rss_mb() -> float:
    """This process's resident-memory high-water mark. Not ru_maxrss: on Linux that also counts
    the pages this process shared with the harness between fork and exec (gigabytes here)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    config = json.loads(sys.argv[1])
    sys.path[:0] = config["paths"]
    module_name, function_name = config["handler"].rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        init_error = None
    except BaseException as error:  # reported with the first event, as Lambda reports an init failure
        handler, init_error = None, error
        init_trace = traceback.format_exc()
    for line in sys.stdin:
        request = json.loads(line)
        context = LambdaContext(config["function_name"], config["memory_mb"], config["timeout_s"], config["arn"])
        if init_error is not None:
            outcome = {"error": type(init_error).__name__, "message": str(init_error), "trace": init_trace}
        else:
            started = time.perf_counter()
            try:
                outcome = {"result": handler(request["event"], context)}
            except BaseException as error:
                outcome = {"error": type(error).__name__, "message": str(error), "trace": traceback.format_exc()}
            # What Lambda's REPORT line says: the duration, and the environment's peak memory so far
            # (the runtime and every earlier invocation included).
            outcome["usage"] = {
                "seconds": time.perf_counter() - started,
                "peak_rss_mb": peak_rss_mb(),
                "python": "{}.{}".format(*sys.version_info[:2]),  # the suite checks it is the runtime's
            }
        sys.stdout.write(RESULT_MARKER + "\n" + json.dumps(outcome, default=str) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
