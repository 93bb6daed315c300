"""Prints the target group's health check from stack/fcgi-app.yaml as
shell assignments, for scripts/cluster.sh's HAProxy config."""
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check import Loader  # noqa: E402

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fcgi-app.yaml")) as f:
    tg = yaml.load(f, Loader=Loader)["Resources"]["TargetGroup"]["Properties"]
values = {
    "CHECK_PATH": tg["HealthCheckPath"],
    "CHECK_STATUS": tg["Matcher"]["HttpCode"],
    "CHECK_INTERVAL": tg["HealthCheckIntervalSeconds"],
    "CHECK_TIMEOUT": tg["HealthCheckTimeoutSeconds"],
    "HEALTHY": tg["HealthyThresholdCount"],
    "UNHEALTHY": tg["UnhealthyThresholdCount"],
}
for k, v in values.items():
    pattern = r"/[A-Za-z0-9/_.-]*" if k == "CHECK_PATH" else r"[0-9]+"
    if not re.fullmatch(pattern, str(v)):
        sys.exit("target_group.py: unexpected %s: %r" % (k, v))
    print("%s=%s" % (k, v))
