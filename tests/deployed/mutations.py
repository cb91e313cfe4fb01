"""Prove the deployed-shape suite can fail: remove one thing from a template, run it, expect a failure.

    python -m tests.deployed.mutations [--profile default] [--only env|statement] [--limit N]
                                       [--survivors-of build/deployed/mutations-default.json]

For every function of the profile, each variable of its template environment is removed
in turn; for every role policy of those functions, each statement is removed in turn. Each
mutant runs the suite (`-x`: the first failing scenario is enough). A mutant that passes is a
survivor: either the variable or grant is not needed (remove it from the stacks) or no scenario
looks at what it does (add one). Statements the Lambda service itself uses (logs, VPC network
interfaces, X-Ray) and KMS grants (moto's S3, SQS and SNS never call KMS) cannot be observed
here; they are listed as not provable rather than counted.
Results go to stdout as a table and to build/deployed/mutations-<profile>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.deployed.harness import profile_folder
from tests.deployed.template import Assembly

REPO = Path(__file__).resolve().parents[2]
# Used by the Lambda service on the function's behalf, never by its code: no scenario can observe them.
SERVICE_ACTIONS = ("logs:", "ec2:", "xray:")
UNOBSERVABLE_ACTIONS = ("kms:",)
# Granted by CDK's provider framework, which calls it only to wait for a function that is not yet Active.
PROVIDER_WAIT_ACTIONS = ("lambda:GetFunction",)


def mutants(assembly: Assembly, only: str | None) -> list[tuple[dict, str | None]]:
    """(mutation, reason it cannot be observed or None) for every variable and statement of the functions."""
    found: list[tuple[dict, str | None]] = []
    roles = set()
    for function in assembly.resources("AWS::Lambda::Function"):
        if not function.properties.get("Runtime", "").startswith(("python", "nodejs")):
            continue
        label = f"{function.stack}/{function.logical_id}"
        role = function.properties["Role"]
        if isinstance(role, dict) and "Fn::GetAtt" in role:
            roles.add((function.stack, role["Fn::GetAtt"][0]))
        if only in (None, "env"):
            for name in function.properties.get("Environment", {}).get("Variables", {}):
                found.append(({"kind": "env", "function": label, "name": name}, None))
    if only in (None, "statement"):
        for policy in assembly.resources("AWS::IAM::Policy"):
            attached = {
                (policy.stack, role.get("Ref")) for role in policy.properties.get("Roles", []) if isinstance(role, dict)
            }
            if not attached & roles:
                continue
            for index, statement in enumerate(policy.properties["PolicyDocument"]["Statement"]):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                mutation = {"kind": "statement", "stack": policy.stack, "policy": policy.logical_id, "index": index,
                            "actions": actions}  # fmt: skip
                reason = None
                if all(action.startswith(SERVICE_ACTIONS) for action in actions):
                    reason = "used by the Lambda service (logs, VPC interfaces, X-Ray), not by the code"
                elif all(action.startswith(UNOBSERVABLE_ACTIONS) for action in actions):
                    reason = "KMS: moto's S3, SQS and SNS never call KMS"
                elif all(action in PROVIDER_WAIT_ACTIONS for action in actions):
                    reason = "CDK's provider framework polls it only while a function is not yet Active"
                found.append((mutation, reason))
    return found


def run(profile: str, mutation: dict) -> tuple[bool, float, str]:
    """Whether the suite failed (the mutant was caught), the seconds it took, and the first failure line."""
    env = {**os.environ, "RAGLINE_DEPLOYED_PROFILES": profile, "RAGLINE_DEPLOYED_MUTATION": json.dumps(mutation)}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/deployed", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:logging",
         "--deselect", "tests/deployed/test_deployed.py::test_every_function_of_every_template_was_driven",
         # Seven minutes of the same calls the 250-page window scenarios make: the same grants and variables.
         "-k", "not 3000_page"],
        cwd=REPO, env=env, capture_output=True, text=True,
    )  # fmt: skip
    failure = next((line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))), "")
    return result.returncode != 0, time.perf_counter() - started, failure[:160]


def describe(mutation: dict) -> str:
    if mutation["kind"] == "env":
        return f"env  {mutation['function'].rsplit('/', 1)[1]}: {mutation['name']}"
    return f"stmt {mutation['policy']}[{mutation['index']}]: {','.join(mutation['actions'])}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--only", choices=("env", "statement"))
    parser.add_argument("--limit", type=int, default=0, help="run at most N mutants (0: all)")
    parser.add_argument("--survivors-of", type=Path, help="re-run only the survivors recorded in this JSON file")
    args = parser.parse_args()
    assembly = Assembly.load(profile_folder(args.profile))
    rows, survivors = [], 0
    candidates = mutants(assembly, args.only)
    if args.survivors_of:
        previous = [row for row in json.loads(args.survivors_of.read_text()) if row["outcome"] == "SURVIVED"]
        keys = [
            json.dumps({k: v for k, v in row.items() if k not in ("outcome", "seconds", "failure")}) for row in previous
        ]
        candidates = [(mutation, why) for mutation, why in candidates if json.dumps(mutation) in keys]
    if args.limit:
        candidates = candidates[: args.limit]
    for mutation, unobservable in candidates:
        if unobservable:
            rows.append({**mutation, "outcome": "not provable here", "why": unobservable})
            print(f"{'-':>8}  {describe(mutation)}  ({unobservable})", flush=True)
            continue
        caught, seconds, failure = run(args.profile, mutation)
        survivors += not caught
        rows.append({**mutation, "outcome": "caught" if caught else "SURVIVED", "seconds": round(seconds, 1),
                     "failure": failure})  # fmt: skip
        print(f"{'caught' if caught else 'SURVIVED':>8}  {describe(mutation)}  {failure}", flush=True)
    suffix = "-survivors" if args.survivors_of else ""
    out = REPO / "build" / "deployed" / f"mutations-{args.profile}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    tried = sum(1 for row in rows if row["outcome"] != "not provable here")
    print(f"\n{args.profile}: {tried - survivors} of {tried} mutants caught, {survivors} survived; "
          f"{len(rows) - tried} not provable here. Rows: {out.relative_to(REPO)}")  # fmt: skip
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
