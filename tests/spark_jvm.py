"""The JVM options of every Spark the tests start (local pyspark, and the Glue scripts the deployed suite runs).

The tests' Spark jobs last seconds on small inputs, so most of their JVM's CPU went to the JIT's optimizing tier
and the parallel collector's threads, which pay back only on long jobs. The client compiler alone and the serial
collector took the drift suite's two Spark tests from 89 to 61 s of wall time on two cores (2026-12-02). They
change how fast the JVM runs, not what a job computes; Glue runs the same scripts under its own JVM settings.
"""

from __future__ import annotations

import os

SHORT_LIVED_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def java_tool_options() -> str:
    """JAVA_TOOL_OPTIONS for a test's Spark: the caller's own options first, then the short-lived JVM's."""
    return " ".join(filter(None, [os.environ.get("JAVA_TOOL_OPTIONS"), SHORT_LIVED_JVM]))
