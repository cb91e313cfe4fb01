"""Prove the deployed-shape suite can fail: remove one thing from a template, run it, expect a failure.

    python -m tests.deployed.mutations [--profile default] [--only env|statement] [--limit N]
                                       [--match TEXT] [--survivors-of build/deployed/mutations-default.json]

For every function of the profile, each variable of its template environment is removed
in turn; for every role policy of those functions and of the Glue jobs, each statement is
removed in turn. Each
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
import re
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
# CDK's staging bucket: Glue reads a job's script and --extra-py-files from it when it starts the job; the
# suite runs the same staged files from cdk.out (tests/deployed/glue_scenario.py).
STAGING_BUCKET = "cdk-hnb659fds-assets-"


def _role_of(resource) -> tuple[str, str] | None:
    role = resource.properties.get("Role")
    return (resource.stack, role["Fn::GetAtt"][0]) if isinstance(role, dict) and "Fn::GetAtt" in role else None


def _unobservable(statement: dict, glue: bool) -> str | None:
    """Why removing this statement cannot change what any scenario sees, or None if a scenario should notice.
    `glue`: the statement is a Glue job role's."""
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    if glue and actions == ["s3:ListBucket"]:
        return "listed by Spark's S3 connector only, which the suite replaces with a local mirror (glue_scenario.py)"
    if all(action.startswith(SERVICE_ACTIONS) for action in actions):
        return "used by the Lambda or Glue service (logs, VPC interfaces, X-Ray), not by the code"
    if all(action.startswith(UNOBSERVABLE_ACTIONS) for action in actions):
        return "KMS: moto's S3, SQS and SNS never call KMS"
    if all(action in PROVIDER_WAIT_ACTIONS for action in actions):
        return "CDK's provider framework polls it only while a function is not yet Active"
    if STAGING_BUCKET in json.dumps(statement["Resource"]):
        return "read by Glue itself to start the job (script, --extra-py-files); the suite runs them from cdk.out"
    return None


def mutants(assembly: Assembly, only: str | None) -> list[tuple[dict, str | None]]:
    """(mutation, reason it cannot be observed or None) for every variable and statement of the functions
    and of the Glue jobs' roles."""
    found: list[tuple[dict, str | None]] = []
    glue_roles = {_role_of(job) for job in assembly.resources("AWS::Glue::Job")} - {None}
    roles = set(glue_roles)
    for function in assembly.resources("AWS::Lambda::Function"):
        if not function.properties.get("Runtime", "").startswith(("python", "nodejs")):
            continue
        label = f"{function.stack}/{function.logical_id}"
        roles |= {_role_of(function)} - {None}
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
                found.append((mutation, _unobservable(statement, glue=bool(attached & glue_roles))))
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
    parser.add_argument("--match", default="", help="only mutants whose line holds this text (e.g. DriftRole)")
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
    candidates = [(mutation, why) for mutation, why in candidates if args.match in describe(mutation)]
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
    # A partial run writes its own file, and never overwrites the whole profile's.
    match = "-" + re.sub(r"\W+", "-", args.match) if args.match else ""
    suffix = ("-survivors" if args.survivors_of else "") + match
    out = REPO / "build" / "deployed" / f"mutations-{args.profile}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    tried = sum(1 for row in rows if row["outcome"] != "not provable here")
    print(f"\n{args.profile}: {tried - survivors} of {tried} mutants caught, {survivors} survived; "
          f"{len(rows) - tried} not provable here. Rows: {out.relative_to(REPO)}")  # fmt: skip
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
