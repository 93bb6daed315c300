"""The database connection budget of the stacks as make stack-deploy-all
deploys them: the web tier's connections at their most against the
database class's max_connections less a reserve for administration.

    python3 stack/budget.py [WEB.yaml DATABASE.yaml]

The web tier (stack/fcgi-app.yaml) gives the connections per instance
(DbConnectionsPerInstance, its default and its MaxValue: the most a
deployment may pass), which its launch template's user data hands to
fcgi-app-configure as --db-connections, the program's db-connections
(the connections of the whole instance, shared by its workers), and
the most instances at once: the group's
MaxSize, plus MaxBatchSize during a rolling update, when new instances
start before old ones stop.  The database (stack/database.yaml) gives
the class: InstanceClass, its default and every allowed value, each of
which must hold the web tier's most.  stack/rds.json gives each class's
memory and how RDS turns it into max_connections.  Prints the
arithmetic, one line per class; exit status 1 when a class does not fit.
"""
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rds  # noqa: E402
from check import Loader  # noqa: E402


def load(path):
    with open(path) as f:
        return yaml.load(f, Loader=Loader)


def passes_db_connections(web):
    """Whether the launch template's user data exports
    DbConnectionsPerInstance and passes it as --db-connections, so that
    it is the program's db-connections on every instance."""
    for r in (web.get("Resources") or {}).values():
        if r.get("Type") != "AWS::EC2::LaunchTemplate":
            continue
        data = ((r.get("Properties") or {}).get("LaunchTemplateData") or {}).get("UserData")
        sub = (data or {}).get("Fn::Base64") if isinstance(data, dict) else None
        sub = sub.get("Fn::Sub") if isinstance(sub, dict) else sub
        if isinstance(sub, str) and \
                "export FCGI_APP_DB_CONNECTIONS='${DbConnectionsPerInstance}'\n" in sub and \
                '--db-connections "$FCGI_APP_DB_CONNECTIONS"' in sub:
            return True
    return False


def web_tier_most(web):
    """(connections per instance at most, instances at most, how) from
    the web tier's template; raises ValueError when it does not say."""
    p = (web.get("Parameters") or {}).get("DbConnectionsPerInstance")
    if not p or "MaxValue" not in p or "Default" not in p:
        raise ValueError("the web tier needs a DbConnectionsPerInstance parameter with a "
                         "Default and a MaxValue")
    per = max(int(p["Default"]), int(p["MaxValue"]))
    if not passes_db_connections(web):
        raise ValueError("the launch template's user data does not pass DbConnectionsPerInstance "
                         "to fcgi-app-configure as --db-connections: the instances would open "
                         "the program's default, not the parameter")
    groups = [r for r in (web.get("Resources") or {}).values()
              if r.get("Type") == "AWS::AutoScaling::AutoScalingGroup"]
    if len(groups) != 1:
        raise ValueError("the web tier needs exactly one Auto Scaling Group")
    g = groups[0]
    size = int((g.get("Properties") or {}).get("MaxSize"))
    batch = int(((g.get("UpdatePolicy") or {}).get("AutoScalingRollingUpdate") or {})
                .get("MaxBatchSize", 1))
    return per, size + batch, "MaxSize %d + MaxBatchSize %d" % (size, batch)


def classes(db):
    """Every DB instance class the database template may be deployed with."""
    p = (db.get("Parameters") or {}).get("InstanceClass") or {}
    vals = list(p.get("AllowedValues") or [])
    if "Default" in p and p["Default"] not in vals:
        vals.append(p["Default"])
    return vals


def check(web, db):
    """(lines of arithmetic, problems) for two loaded templates."""
    per, instances, how = web_tier_most(web)
    need = per * instances
    lines, problems = [], []
    if not classes(db):
        problems.append("the database template has no InstanceClass parameter")
    for c in classes(db):
        mc, room = rds.max_connections(c), rds.budget(c)
        if mc is None:
            problems.append("%s is not in stack/rds.json: its max_connections is unknown" % c)
            continue
        line = ("%s: %d connections x %d instances (%s) = %d; max_connections %d - %d "
                "reserved = %d" % (c, per, instances, how, need, mc, mc - room, room))
        lines.append(line)
        if need > room:
            problems.append("%s: the web tier may open %d connections, more than the %d the "
                            "class leaves it" % (c, need, room))
    return lines, problems


def main():
    args = sys.argv[1:] or [os.path.join(HERE, "fcgi-app.yaml"),
                            os.path.join(HERE, "database.yaml")]
    if len(args) != 2:
        sys.exit(__doc__)
    try:
        lines, problems = check(load(args[0]), load(args[1]))
    except (ValueError, TypeError) as e:
        lines, problems = [], [str(e)]
    for l in lines:
        print("budget: " + l)
    for p in problems:
        print("budget: over: " + p)
    if not problems:
        print("budget: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
