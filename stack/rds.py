"""What stack/rds.json says about RDS for MySQL, as functions: whether an
engine version is still in RDS standard support, and how many
connections a DB instance class takes by default.

    python3 stack/rds.py    prints the table: versions, classes, budgets

"Today" is the clock's date (UTC), or RDS_TODAY=YYYY-MM-DD for tests.
"""
import datetime
import json
import os
import re

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rds.json")
MIB = 1024 * 1024


def table():
    with open(TABLE) as f:
        return json.load(f)


def today():
    """The date the support check uses: RDS_TODAY, or the clock's (UTC)."""
    given = os.environ.get("RDS_TODAY")
    if given:
        return datetime.date.fromisoformat(given)
    return datetime.datetime.now(datetime.timezone.utc).date()


def major(version):
    """The major version of an EngineVersion ("8.4" of "8.4.3"), or None."""
    m = re.fullmatch(r"(\d+\.\d+)(\.\d+)?", str(version))
    return m.group(1) if m else None


def support_problem(version, on=None):
    """None when version is in RDS standard support on the date `on`
    (today by default), else a sentence saying why not."""
    on = on or today()
    m = major(version)
    majors = table()["versions"]["majors"]
    if m not in majors:
        return "engine version %r is not in stack/rds.json (known: %s)" % (
            version, ", ".join(sorted(majors)))
    end = datetime.date.fromisoformat(majors[m]["end_of_standard_support"])
    if on > end:
        return ("MySQL %s left RDS standard support on %s (today is %s; Extended Support is "
                "billed after that): use a supported major version" % (m, end, on))
    return None


def max_connections(instance_class):
    """RDS for MySQL's default max_connections for a class, from the
    class's memory less the reserve stack/rds.json assumes; None for a
    class that is not in the table."""
    t = table()
    mem = t["classes"]["memory_gib"].get(instance_class)
    if mem is None:
        return None
    mc = t["max_connections"]
    total = mem * 1024 * MIB
    reserved = max(mc["reserved_min_mib"] * MIB, int(total * mc["reserved_fraction"]))
    return (total - reserved) // mc["divisor"]


def budget(instance_class):
    """The connections the web tier may open on a class: max_connections
    less the reserve for administration; None for an unknown class."""
    mc = max_connections(instance_class)
    return None if mc is None else mc - table()["max_connections"]["admin_reserve"]


def main():
    t = table()
    print("today: %s" % today())
    for m, v in sorted(t["versions"]["majors"].items()):
        print("MySQL %s: end of standard support %s: %s" % (
            m, v["end_of_standard_support"], support_problem(m) or "supported"))
    for c in sorted(t["classes"]["memory_gib"]):
        print("%s: max_connections %d, for the web tier %d" % (
            c, max_connections(c), budget(c)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
