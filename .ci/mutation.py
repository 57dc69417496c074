"""Mutation testing of the security-critical modules with mutmut (run through .ci/mutation).

For each module in .ci/mutation.toml: a work directory .mutation/<module>/ with the sources
linked in and a pyproject.toml of its own (the project's pytest options plus a [tool.mutmut]
table naming that one module and its test selection); `mutmut run`; then the kill rate from
mutmut's results, with the equivalent mutants of .ci/mutation-equivalents.toml set aside.
Exits 1 when a module is under its threshold or a mutant was left unchecked.

    .ci/mutation                          every module
    .ci/mutation cpms/core/crypto.py      the named modules
    .ci/mutation --changed-since origin/main
                                          the modules whose source or tests changed since a ref
    .ci/mutation --keep                   reuse the work directories (mutmut re-tests only what
                                          changed since its last run there)
    .ci/mutation --changed                the modules whose fingerprint differs from the one
                                          recorded in .ci/mutation-state.toml (what CI runs)
    .ci/mutation --record                 after a passing run, record the fingerprints of the
                                          modules it ran (commit .ci/mutation-state.toml)

A module's fingerprint is the SHA-256 of its source, its selected test files, the driver, the
shared settings, its own entry in .ci/mutation.toml and its own equivalent mutants: what most
often changes its result. It leaves out the code the
module calls and the installed packages, so a full run (no --changed) belongs in every change of
those that matters, and before a release.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".ci" / "mutation.toml"
EQUIVALENTS = ROOT / ".ci" / "mutation-equivalents.toml"
CONFTEST = ROOT / ".ci" / "mutation_conftest.py"
STATE = ROOT / ".ci" / "mutation-state.toml"
WORK = ROOT / ".mutation"
# one per run, so that two runs at once never rebuild each other's template
TEMPLATE = WORK / f"db-{os.getpid()}" / "template.sqlite3"

DETECTED = {"killed", "timeout"}
UNDETECTED = {"survived", "no tests", "suspicious"}


@dataclass
class Mutant:
    name: str
    status: str
    function: str = ""
    before: str = ""
    after: str = ""


@dataclass
class Outcome:
    module: str
    threshold: float
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    survivors: list[Mutant] = field(default_factory=list)
    equivalent: list[tuple[Mutant, str]] = field(default_factory=list)
    unchecked: int = 0
    error: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.values()) - len(self.equivalent)

    @property
    def detected(self) -> int:
        return sum(count for status, count in self.counts.items() if status in DETECTED)

    @property
    def rate(self) -> float:
        return 100.0 * self.detected / self.total if self.total else 100.0

    @property
    def passed(self) -> bool:
        return not self.error and not self.unchecked and self.rate >= self.threshold


# --- configuration ------------------------------------------------------------------------------


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def toml_table(name: str, values: dict[str, object]) -> str:
    lines = [f"[{name}]"]
    lines += [f"{json.dumps(key)} = {toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def work_pyproject(module: str, spec: dict, settings: dict) -> str:
    """The project's pytest options and a [tool.mutmut] table for one module."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tool = project.get("tool", {})
    pytest_args = ["-p", "no:cacheprovider", "-p", "no:randomly"]
    if spec.get("database"):
        pytest_args.append("--reuse-db")
    mutmut = {
        "source_paths": ["cpms"],
        "only_mutate": [module],
        "pytest_add_cli_args_test_selection": list(spec["tests"]),
        "pytest_add_cli_args": pytest_args,
        "also_copy": ["conftest.py"],
        "do_not_mutate_patterns": list(settings.get("do_not_mutate_patterns", [])),
        "use_git_change_detection": False,
        "timeout_multiplier": float(settings.get("timeout_multiplier", 15.0)),
        # seconds added to every mutant's limit: a forked pytest session needs a moment to start
        "timeout_constant": float(
            spec.get("timeout_constant", settings.get("timeout_constant", 1.0))
        ),
    }
    # pytest-django would put the first parent holding a manage.py (the repository) on sys.path,
    # and the tests would import the unmutated sources from there
    ini_options = {**tool.get("pytest", {}).get("ini_options", {}), "django_find_project": False}
    return "\n".join(
        [
            toml_table("tool.pytest.ini_options", ini_options),
            toml_table("tool.pytest_env", tool.get("pytest_env", {})),
            toml_table("tool.mutmut", mutmut),
        ]
    )


def changed_modules(modules: dict[str, dict], ref: str) -> list[str]:
    output = subprocess.run(  # noqa: S603
        ["git", "diff", "--name-only", f"{ref}...HEAD"],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    changed = set(output.split())
    watched = {".ci/mutation.toml", ".ci/mutation.py", ".ci/mutation_conftest.py", "pyproject.toml"}
    if changed & watched:
        return list(modules)
    return [m for m, spec in modules.items() if changed & {m, *spec["tests"]}]


def fingerprint(module: str, spec: dict, settings: dict, equivalents: list[dict]) -> str:
    """What decides a module's result: its source and tests, the driver, the shared settings,
    its own entry in .ci/mutation.toml and its own equivalent mutants."""
    digest = hashlib.sha256()
    files = [module, *(test.split("::")[0] for test in spec["tests"])]
    files += [".ci/mutation.py", ".ci/mutation_conftest.py"]
    for name in files:
        path = ROOT / name
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"(missing)")
        digest.update(b"\0")
    own = [
        {key: value for key, value in entry.items() if not key.startswith("_")}
        for entry in equivalents
        if entry["module"] == module
    ]
    digest.update(json.dumps([settings, spec, own], sort_keys=True).encode())
    return digest.hexdigest()


def recorded_state() -> dict[str, dict]:
    if not STATE.exists():
        return {}
    return tomllib.loads(STATE.read_text(encoding="utf-8")).get("modules", {})


def record_state(outcomes: list[Outcome], modules: dict, settings: dict, equivalents: list) -> None:
    state = recorded_state()
    for outcome in outcomes:
        spec = modules[outcome.module]
        state[outcome.module] = {
            "fingerprint": fingerprint(outcome.module, spec, settings, equivalents),
            "rate": round(outcome.rate, 1),
            "mutants": outcome.total,
            "equivalent": len(outcome.equivalent),
        }
    lines = [
        "# Written by `.ci/mutation --record` after a passing run; `.ci/mutation --changed` (CI)",
        "# mutates only the modules whose fingerprint differs from the one recorded here.",
    ]
    for module in sorted(state):
        lines += ["", toml_table(f"modules.{json.dumps(module)}", state[module]).rstrip()]
    STATE.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- running ------------------------------------------------------------------------------------


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # SQLite only
    env["CPMS_DATA_DIR"] = str(WORK / "data")
    env["CPMS_MUTATION_DB_TEMPLATE"] = str(TEMPLATE)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def build_template(env: dict[str, str]) -> None:
    """One migrated SQLite test database, copied by every pytest session that needs one."""
    directory = TEMPLATE.parent
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    (directory / "conftest.py").write_text(CONFTEST.read_text(encoding="utf-8"), encoding="utf-8")
    (directory / "test_template.py").write_text(
        "def test_template(db):\n    pass\n", encoding="utf-8"
    )
    (directory / "pyproject.toml").write_text(
        work_pyproject("-", {"tests": []}, {}).split("[tool.mutmut]")[0], encoding="utf-8"
    )
    (directory / "cpms").symlink_to(ROOT / "cpms")
    (directory / "tests").symlink_to(ROOT / "tests")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "--reuse-db",
            "-p",
            "no:cacheprovider",
            "test_template.py",
        ],
        cwd=directory,
        env={**env, "CPMS_MUTATION_DB_BUILD": "1", "PYTHONPATH": str(directory)},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or not TEMPLATE.exists():
        print(result.stdout[-4000:], result.stderr[-4000:])
        raise SystemExit("could not build the template test database")


def prepare(module: str, spec: dict, settings: dict, keep: bool) -> Path:
    directory = WORK / module.removesuffix(".py").replace("/", ".")
    if not keep:
        shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("cpms", "tests"):
        link = directory / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    shutil.copyfile(CONFTEST, directory / "conftest.py")
    pyproject = work_pyproject(module, spec, settings)
    (directory / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return directory


def mutmut_run(directory: Path, env: dict[str, str], children: int) -> None:
    mutmut = Path(sys.executable).with_name("mutmut")
    with open(directory / "mutmut.log", "w", encoding="utf-8") as log:
        subprocess.run(  # noqa: S603
            [str(mutmut), "run", "--max-children", str(children)],
            cwd=directory,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )


def read_results(module: str, directory: Path) -> list[Mutant]:
    from mutmut.stats import status_by_exit_code

    meta = directory / "mutants" / f"{module}.meta"
    if not meta.exists():
        return []
    exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return [
        Mutant(name, "not checked" if code is None else status_by_exit_code[code])
        for name, code in sorted(exit_codes.items())
    ]


def describe(mutant: Mutant, module: str, directory: Path) -> None:
    """Fill in the function and the changed lines (stripped), as the equivalents file keys them."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    previous = os.getcwd()
    os.chdir(directory)
    try:
        diff = get_diff_for_mutant(mutant.name, path=module)
    finally:
        os.chdir(previous)
    lines = diff.splitlines()[2:]
    mutant.before = "\n".join(line[1:].strip() for line in lines if line.startswith("-"))
    mutant.after = "\n".join(line[1:].strip() for line in lines if line.startswith("+"))
    function = mutant.name.rsplit("__mutmut_", 1)[0].rpartition(".")[2]
    mutant.function = function.removeprefix("x_").replace("ǁ", ".").strip(".")


def run_module(module: str, spec: dict, settings: dict, options, equivalents) -> Outcome:
    started = time.monotonic()
    outcome = Outcome(module=module, threshold=float(spec["threshold"]), seconds=0.0)
    missing = [test for test in spec["tests"] if not (ROOT / test.split("::")[0]).exists()]
    if missing:
        outcome.error = f"test files missing: {', '.join(missing)}"
        return outcome
    directory = prepare(module, spec, settings, options.keep)
    mutmut_run(directory, options.env, options.max_children)
    mutants = read_results(module, directory)
    if not mutants:
        outcome.error = f"mutmut produced no results; see {directory / 'mutmut.log'}"
    for mutant in mutants:
        if mutant.status in UNDETECTED:
            describe(mutant, module, directory)
            reason = match_equivalent(mutant, module, equivalents)
            if reason is not None:
                outcome.equivalent.append((mutant, reason))
            else:
                outcome.survivors.append(mutant)
        elif mutant.status not in DETECTED:
            outcome.unchecked += 1
        outcome.counts[mutant.status] = outcome.counts.get(mutant.status, 0) + 1
    outcome.seconds = time.monotonic() - started
    timeouts = outcome.counts.get("timeout", 0)
    if timeouts > max(3, 0.2 * len(mutants)):
        # a limit too tight for the tests makes every mutant "time out", which would count as
        # killed: raise timeout_constant for the module instead of trusting that rate
        outcome.error = f"{timeouts} of {len(mutants)} mutants timed out; the limit is too tight"
    return outcome


def match_equivalent(mutant: Mutant, module: str, equivalents: list[dict]) -> str | None:
    for entry in equivalents:
        if (
            entry["module"] == module
            and entry["function"] == mutant.function
            and entry["before"].strip() == mutant.before
            and entry["after"].strip() == mutant.after
        ):
            entry["_used"] = True
            return entry["reason"]
    return None


# --- report -------------------------------------------------------------------------------------


def report(outcomes: list[Outcome], equivalents: list[dict], modules: list[str]) -> bool:
    ok = True
    for outcome in outcomes:
        for mutant in outcome.survivors:
            print(f"\nSURVIVED  {outcome.module}  {mutant.name}  ({mutant.status})")
            print(f"  function = {json.dumps(mutant.function, ensure_ascii=False)}")
            print(f"  before = {json.dumps(mutant.before, ensure_ascii=False)}")
            print(f"  after = {json.dumps(mutant.after, ensure_ascii=False)}")
    print("\nEquivalent mutants set aside (.ci/mutation-equivalents.toml):")
    listed = False
    for outcome in outcomes:
        for mutant, reason in outcome.equivalent:
            listed = True
            print(f"  {outcome.module}  {mutant.function}: {mutant.before!r} -> {mutant.after!r}")
            print(f"      {reason}")
    if not listed:
        print("  none")
    stale = [e for e in equivalents if e["module"] in modules and not e.get("_used")]
    for entry in stale:
        print(
            f"  STALE (matches no surviving mutant): {entry['module']} {entry['function']}: "
            f"{entry['before']!r} -> {entry['after']!r}"
        )
    print(
        f"\n{'module':<32} {'mutants':>7} {'killed':>6} {'timeout':>7} {'surv.':>5} "
        f"{'equiv.':>6} {'rate':>7} {'min':>5} {'time':>6}"
    )
    for outcome in outcomes:
        counts = outcome.counts
        survived = sum(counts.get(status, 0) for status in UNDETECTED) - len(outcome.equivalent)
        verdict = "ok" if outcome.passed else "FAIL"
        print(
            f"{outcome.module:<32} {outcome.total:>7} {counts.get('killed', 0):>6} "
            f"{counts.get('timeout', 0):>7} {survived:>5} {len(outcome.equivalent):>6} "
            f"{outcome.rate:>6.1f}% {outcome.threshold:>4.0f}% {outcome.seconds:>5.0f}s  {verdict}"
        )
        if outcome.error:
            print(f"    error: {outcome.error}")
        if outcome.unchecked:
            print(f"    {outcome.unchecked} mutants were not checked")
        ok = ok and outcome.passed
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: all)")
    parser.add_argument("--changed-since", metavar="REF")
    parser.add_argument("--keep", action="store_true", help="reuse the work directories")
    parser.add_argument("--changed", action="store_true", help="only modules not recorded as is")
    parser.add_argument("--record", action="store_true", help="record a passing run")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    options = parser.parse_args()
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    settings, modules = config.get("settings", {}), config["modules"]
    equivalents = tomllib.loads(EQUIVALENTS.read_text(encoding="utf-8")).get("equivalent", [])

    selected = options.modules or list(modules)
    if options.changed_since:
        selected = [m for m in changed_modules(modules, options.changed_since) if m in selected]
    if options.changed:
        state = recorded_state()
        unchanged = [
            m
            for m in selected
            if m in modules
            and state.get(m, {}).get("fingerprint")
            == fingerprint(m, modules[m], settings, equivalents)
        ]
        for module in unchanged:
            print(f"{module}: unchanged since its recorded run ({state[module]['rate']}%)")
        selected = [m for m in selected if m not in unchanged]
    unknown = [m for m in selected if m not in modules]
    if unknown:
        parser.error(f"not in .ci/mutation.toml: {', '.join(unknown)}")
    if not selected:
        print("mutation testing: no module selected")
        return 0

    started = time.monotonic()
    options.env = environment()
    WORK.mkdir(exist_ok=True)
    if any(modules[m].get("database") for m in selected):
        build_template(options.env)
        print(f"template test database built ({time.monotonic() - started:.0f}s)", flush=True)
    outcomes = []
    try:
        for module in selected:
            outcome = run_module(module, modules[module], settings, options, equivalents)
            print(f"{module}: {outcome.rate:.1f}% in {outcome.seconds:.0f}s", flush=True)
            outcomes.append(outcome)
    finally:
        shutil.rmtree(TEMPLATE.parent, ignore_errors=True)
    ok = report(outcomes, equivalents, selected)
    print(f"\nmutation testing {'passed' if ok else 'FAILED'} in {time.monotonic() - started:.0f}s")
    if ok and options.record:
        record_state(outcomes, modules, settings, equivalents)
        print(f"recorded in {STATE.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
