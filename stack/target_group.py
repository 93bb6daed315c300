"""Prints the target group's health check and deregistration delay from
stack/fcgi-app.yaml as shell assignments, for scripts/cluster.sh's
HAProxy config and scripts/rollout.py's drain.

CLUSTER_DEREGISTRATION_DELAY (seconds, 0-3600), when set, takes the
place of the template's delay, so that rehearsals stay short."""
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check import Loader  # noqa: E402

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fcgi-app.yaml")) as f:
    tg = yaml.load(f, Loader=Loader)["Resources"]["TargetGroup"]["Properties"]
attrs = {a["Key"]: a["Value"] for a in tg.get("TargetGroupAttributes", [])}
values = {
    "CHECK_PATH": tg["HealthCheckPath"],
    "CHECK_STATUS": tg["Matcher"]["HttpCode"],
    "CHECK_INTERVAL": tg["HealthCheckIntervalSeconds"],
    "CHECK_TIMEOUT": tg["HealthCheckTimeoutSeconds"],
    "HEALTHY": tg["HealthyThresholdCount"],
    "UNHEALTHY": tg["UnhealthyThresholdCount"],
    # the ALB's default when the attribute is not set
    "DEREGISTRATION_DELAY": os.environ.get("CLUSTER_DEREGISTRATION_DELAY") or
    attrs.get("deregistration_delay.timeout_seconds", "300"),
}
for k, v in values.items():
    pattern = r"/[A-Za-z0-9/_.-]*" if k == "CHECK_PATH" else r"[0-9]+"
    if not re.fullmatch(pattern, str(v)):
        sys.exit("target_group.py: unexpected %s: %r" % (k, v))
if int(values["DEREGISTRATION_DELAY"]) > 3600:
    sys.exit("target_group.py: the deregistration delay is at most 3600 s")
for k, v in values.items():
    print("%s=%s" % (k, v))
