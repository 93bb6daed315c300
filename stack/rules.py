"""The project's own rules for its CloudFormation templates: what the
specification cannot say (stack/check.py checks that), the hardening and
observability every template must keep, and an RDS engine version still
in standard support on the day it runs (stack/rds.py, RDS_TODAY).

    python3 stack/rules.py TEMPLATE.yaml [...]

A template's rules are chosen by what it holds: an ALB, a launch
template, an RDS instance, a VPC.  A value given as a Ref to a parameter
must hold for the parameter's default and for every allowed value (or be
a parameter at all, where the rule asks for a switch).  Prints one line
per broken rule, "FILE: rule-name: what is wrong", or "FILE: rules ok";
exit status 1 when any rule is broken.
"""
import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check import Loader  # noqa: E402
import rds  # noqa: E402

# the account ALB access logs come from in ap-northeast-2
ELB_LOG_ACCOUNT = "600734575887"
# listener policies that allow TLS 1.2 and newer only
TLS12_POLICIES = ("ELBSecurityPolicy-TLS13-1-2-", "ELBSecurityPolicy-TLS-1-2-",
                  "ELBSecurityPolicy-FS-1-2-")
ZONES = {"ap-northeast-2a", "ap-northeast-2c"}
ENDPOINT_SERVICES = {"ssm", "ssmmessages", "ec2messages", "cloudformation", "kms", "logs"}
ASG_NOTIFICATIONS = {"autoscaling:EC2_INSTANCE_LAUNCH", "autoscaling:EC2_INSTANCE_LAUNCH_ERROR",
                     "autoscaling:EC2_INSTANCE_TERMINATE",
                     "autoscaling:EC2_INSTANCE_TERMINATE_ERROR"}


class Template:
    def __init__(self, t):
        self.t = t
        self.params = t.get("Parameters") or {}
        self.res = t.get("Resources") or {}

    def of_type(self, rtype):
        return {n: r for n, r in self.res.items() if r.get("Type") == rtype}

    def props(self, name):
        return self.res[name].get("Properties") or {}

    def param(self, value):
        """The parameter value refers to, or None."""
        if isinstance(value, dict) and list(value) == ["Ref"] and value["Ref"] in self.params:
            return self.params[value["Ref"]]
        return None

    def values(self, value):
        """Every value a property may take: a literal, or a parameter's
        default and allowed values."""
        p = self.param(value)
        if p is None:
            return [value]
        vals = list(p.get("AllowedValues") or [])
        if "Default" in p:
            vals.append(p["Default"])
        return vals

    def always(self, value, ok):
        vals = self.values(value)
        return bool(vals) and all(ok(str(v).lower() if isinstance(v, bool) else v)
                                  for v in vals)

    def refers_to(self, value, rtype):
        return isinstance(value, dict) and list(value) == ["Ref"] and \
            self.res.get(value["Ref"], {}).get("Type") == rtype


def attributes(props, key="LoadBalancerAttributes"):
    return {a.get("Key"): a.get("Value") for a in props.get(key) or []}


def true(v):
    return v in (True, "true")


# --- the ALB --------------------------------------------------------------
def rule_alb_hardening(T):
    out = []
    for name, _ in T.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer").items():
        a = attributes(T.props(name))
        if not T.always(a.get("routing.http.drop_invalid_header_fields.enabled"), true):
            out.append(("alb-drop-invalid-headers",
                        "%s must set routing.http.drop_invalid_header_fields.enabled true" % name))
        if not T.always(a.get("routing.http.desync_mitigation_mode"),
                        lambda v: v in ("defensive", "strictest")):
            out.append(("alb-desync-mitigation",
                        "%s: routing.http.desync_mitigation_mode must be defensive or "
                        "strictest" % name))
        dp = a.get("deletion_protection.enabled")
        if T.param(dp) is None and not true(dp):
            out.append(("alb-deletion-protection",
                        "%s: deletion_protection.enabled must be a parameter (or true)" % name))
    return out


def rule_alb_access_logs(T):
    out = []
    for name in T.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        a = attributes(T.props(name))
        on = a.get("access_logs.s3.enabled")
        if T.param(on) is None or not true(T.param(on).get("Default")):
            out.append(("alb-access-logs", "%s: access_logs.s3.enabled must be a parameter, "
                        "true by default" % name))
        if not T.refers_to(a.get("access_logs.s3.bucket"), "AWS::S3::Bucket"):
            out.append(("alb-access-logs", "%s: access_logs.s3.bucket must be the stack's own "
                        "bucket" % name))
    return out


def rule_log_bucket(T):
    out = []
    buckets = T.of_type("AWS::S3::Bucket")
    for name in buckets:
        p = T.props(name)
        enc = (p.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
        if not any((e.get("ServerSideEncryptionByDefault") or {}).get("SSEAlgorithm")
                   for e in enc):
            out.append(("bucket-encryption", "%s has no default encryption" % name))
        pab = p.get("PublicAccessBlockConfiguration") or {}
        for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                  "RestrictPublicBuckets"):
            if not true(pab.get(k)):
                out.append(("bucket-public-access-block", "%s: %s must be true" % (name, k)))
        rules = (p.get("LifecycleConfiguration") or {}).get("Rules") or []
        if not any(r.get("Status") == "Enabled" and "ExpirationInDays" in r for r in rules):
            out.append(("bucket-lifecycle", "%s has no enabled rule that expires objects" % name))
    if T.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer") and buckets:
        grants = []
        for pname, pol in T.of_type("AWS::S3::BucketPolicy").items():
            for s in T.props(pname).get("PolicyDocument", {}).get("Statement", []):
                if s.get("Effect") == "Allow" and s.get("Action") == "s3:PutObject":
                    grants.append(s)
        mapping = T.t.get("Mappings", {}).get("ElbLogAccount", {})
        account = (mapping.get("ap-northeast-2") or {}).get("Id")
        if account != ELB_LOG_ACCOUNT or not grants:
            out.append(("bucket-elb-delivery", "the log bucket's policy must let the ELB "
                        "account %s (ap-northeast-2) put objects" % ELB_LOG_ACCOUNT))
    return out


def rule_tls(T):
    out = []
    for name, _ in T.of_type("AWS::ElasticLoadBalancingV2::Listener").items():
        p = T.props(name)
        if p.get("Protocol") != "HTTPS":
            continue
        if not T.always(p.get("SslPolicy"), lambda v: isinstance(v, str)
                        and v.startswith(TLS12_POLICIES)):
            out.append(("tls-1-2", "%s: SslPolicy must allow TLS 1.2 and newer only (the "
                        "default allows TLS 1.0)" % name))
    return out


def rule_waf(T):
    lbs = T.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")
    if not lbs:
        return []
    assoc = [r for r in T.of_type("AWS::WAFv2::WebACLAssociation").values()
             if any(T.refers_to((r.get("Properties") or {}).get("ResourceArn"),
                                "AWS::ElasticLoadBalancingV2::LoadBalancer") for _ in [0])
             and T.param((r.get("Properties") or {}).get("WebACLArn")) is not None]
    if not assoc:
        return [("waf-association", "an optional WAF web ACL (a parameter) must be associated "
                 "with the ALB")]
    return []


def rule_alarms(T):
    out = []
    alarms = list(T.of_type("AWS::CloudWatch::Alarm").items())

    def has(metric, cmp=None, threshold=None, stat=None):
        for _, a in alarms:
            p = a.get("Properties") or {}
            if p.get("MetricName") != metric or not p.get("AlarmActions"):
                continue
            if cmp and p.get("ComparisonOperator") != cmp:
                continue
            if threshold is not None and p.get("Threshold") != threshold:
                continue
            if stat and p.get("ExtendedStatistic") != stat:
                continue
            return True
        return False

    if T.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        need = [("HealthyHostCount < 1", ("HealthyHostCount", "LessThanThreshold", 1)),
                ("UnHealthyHostCount >= 1",
                 ("UnHealthyHostCount", "GreaterThanOrEqualToThreshold", 1)),
                ("target 5xx", ("HTTPCode_Target_5XX_Count",)),
                ("ELB 5xx", ("HTTPCode_ELB_5XX_Count",)),
                ("TargetResponseTime p99", ("TargetResponseTime", None, None, "p99"))]
    elif T.of_type("AWS::RDS::DBInstance"):
        need = [("RDS CPU", ("CPUUtilization", "GreaterThanThreshold")),
                ("RDS free storage", ("FreeStorageSpace", "LessThanThreshold"))]
    else:
        need = []
    for label, args in need:
        if not has(*args):
            out.append(("alarms", "no alarm with an action for %s" % label))
    return out


def rule_asg_notifications(T):
    out = []
    for name in T.of_type("AWS::AutoScaling::AutoScalingGroup"):
        types = set()
        for n in T.props(name).get("NotificationConfigurations") or []:
            if n.get("TopicARN"):
                types |= set(n.get("NotificationTypes") or [])
        missing = ASG_NOTIFICATIONS - types
        if missing:
            out.append(("asg-notifications", "%s does not notify %s" % (
                name, ", ".join(sorted(missing)))))
    return out


# --- instances ------------------------------------------------------------
def rule_launch_templates(T):
    out = []
    for name in T.of_type("AWS::EC2::LaunchTemplate"):
        d = T.props(name).get("LaunchTemplateData") or {}
        md = d.get("MetadataOptions") or {}
        if md.get("HttpTokens") != "required" or md.get("HttpPutResponseHopLimit") != 1:
            out.append(("imdsv2", "%s: IMDSv2 (HttpTokens required) with a hop limit of 1"
                        % name))
        roots = [b.get("Ebs") or {} for b in d.get("BlockDeviceMappings") or []]
        if not any(true(e.get("Encrypted")) and e.get("VolumeType") == "gp3" for e in roots):
            out.append(("encrypted-gp3-root", "%s: the root volume must be encrypted gp3"
                        % name))
    return out


# the log actions the CloudWatch agent needs on groups that exist
AGENT_LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}


def rule_instance_logs(T):
    """A stack with instances ships their logs: log groups with a
    retention parameter, and the instances' role may write to those
    groups, and only the agent's actions, and nothing on "*"."""
    if not T.of_type("AWS::EC2::LaunchTemplate") or \
            not T.of_type("AWS::AutoScaling::AutoScalingGroup"):
        return []
    out = []
    groups = T.of_type("AWS::Logs::LogGroup")
    if len(groups) < 3:
        out.append(("instance-logs", "want log groups for the journal and nginx's access "
                    "and error logs, got %d" % len(groups)))
    for name in groups:
        if T.param(T.props(name).get("RetentionInDays")) is None:
            out.append(("instance-logs", "%s: RetentionInDays must be a parameter" % name))
    granted = set()
    for rname in T.of_type("AWS::IAM::Role"):
        for pol in T.props(rname).get("Policies") or []:
            for st in (pol.get("PolicyDocument") or {}).get("Statement") or []:
                actions = st.get("Action")
                actions = [actions] if isinstance(actions, str) else list(actions or [])
                logs = [a for a in actions if str(a).startswith("logs:")]
                if not logs:
                    continue
                res = st.get("Resource")
                res = [res] if not isinstance(res, list) else res
                extra = set(logs) - AGENT_LOG_ACTIONS
                if extra:
                    out.append(("instance-logs-least-privilege", "%s may %s: more than the "
                                "agent needs" % (rname, ", ".join(sorted(extra)))))
                for r in res:
                    ok = isinstance(r, dict) and list(r) == ["Fn::GetAtt"] and \
                        r["Fn::GetAtt"][0] in groups and r["Fn::GetAtt"][1] == "Arn"
                    if not ok:
                        out.append(("instance-logs-least-privilege", "%s: log actions on %r, "
                                    "not only on the stack's log groups" % (rname, r)))
                    else:
                        granted.add(r["Fn::GetAtt"][0])
                if set(logs) == AGENT_LOG_ACTIONS:
                    continue
                out.append(("instance-logs", "%s: a log statement must allow %s" % (
                    rname, ", ".join(sorted(AGENT_LOG_ACTIONS)))))
    for name in sorted(set(groups) - granted):
        out.append(("instance-logs", "the instances' role may not write to %s" % name))
    return out


# --- the database ---------------------------------------------------------
def rule_database(T):
    out = []
    for name in T.of_type("AWS::RDS::DBInstance"):
        p = T.props(name)
        out += rule_engine_version(T, name, p)
        if not true(p.get("StorageEncrypted")):
            out.append(("rds-encrypted", "%s: StorageEncrypted must be true" % name))
        if not T.always(p.get("PubliclyAccessible", False), lambda v: v in (False, "false")):
            out.append(("rds-private", "%s must not be publicly accessible" % name))
        if not T.always(p.get("BackupRetentionPeriod", 1), lambda v: int(v) >= 1) or \
                (T.param(p.get("BackupRetentionPeriod")) or {}).get("MinValue", 1) < 1:
            out.append(("rds-backups", "%s: automated backups must be on (retention >= 1)"
                        % name))
        for k in ("DeletionProtection", "MultiAZ"):
            if T.param(p.get(k)) is None:
                out.append(("rds-parameters", "%s: %s must be a parameter" % (name, k)))
        if not true(p.get("ManageMasterUserPassword")) or "MasterUserPassword" in p:
            out.append(("rds-managed-password", "%s: the master password must be managed by "
                        "RDS (ManageMasterUserPassword, no MasterUserPassword)" % name))
        for sg in p.get("VPCSecurityGroups") or []:
            if not T.refers_to(sg, "AWS::EC2::SecurityGroup"):
                continue
            sgname = sg["Ref"]
            rules = list(T.props(sgname).get("SecurityGroupIngress") or [])
            rules += [r.get("Properties") or {} for r in
                      T.of_type("AWS::EC2::SecurityGroupIngress").values()
                      if (r.get("Properties") or {}).get("GroupId") == sg]
            for r in rules:
                if "SourceSecurityGroupId" not in r or any(
                        k in r for k in ("CidrIp", "CidrIpv6", "SourcePrefixListId")):
                    out.append(("rds-security-group", "%s takes traffic from addresses, not "
                                "only from a security group" % sgname))
    return out


def rule_engine_version(T, name, p):
    """MySQL, its version a parameter whose every value is in RDS
    standard support today (stack/rds.json), and a parameter group of
    the same family that requires TLS."""
    out = []
    version = p.get("EngineVersion")
    if p.get("Engine") != "mysql" or T.param(version) is None:
        return [("rds-engine-version", "%s: Engine must be mysql and EngineVersion a "
                 "parameter" % name)]
    for v in T.values(version):
        problem = rds.support_problem(v)
        if problem:
            out.append(("rds-engine-version", "%s: %s" % (name, problem)))
    group = p.get("DBParameterGroupName")
    if not T.refers_to(group, "AWS::RDS::DBParameterGroup"):
        return out + [("rds-require-tls", "%s must use the stack's own DB parameter group"
                       % name)]
    g = T.props(group["Ref"])
    if g.get("Family") != {"Fn::Sub": "mysql${%s}" % version["Ref"]}:
        out.append(("rds-require-tls", "%s: the parameter group's Family must be "
                    "mysql${%s}, the engine's" % (group["Ref"], version["Ref"])))
    if str((g.get("Parameters") or {}).get("require_secure_transport")).upper() not in ("1", "ON"):
        out.append(("rds-require-tls", "%s must set require_secure_transport to 1 (ON)"
                    % group["Ref"]))
    return out


# --- the network ----------------------------------------------------------
def rule_network(T):
    if not T.of_type("AWS::EC2::VPC"):
        return []
    out = []
    subnets = T.of_type("AWS::EC2::Subnet")
    zones = {"public": [], "private": []}
    for name in subnets:
        p = T.props(name)
        kind = "public" if name.lower().startswith("public") else "private"
        z = T.values(p.get("AvailabilityZone"))
        zones[kind].append(z[-1] if z else None)
        if kind == "private" and true(p.get("MapPublicIpOnLaunch")):
            out.append(("network-subnets", "%s gives public addresses" % name))
    for kind, zs in zones.items():
        if sorted(zs) != sorted(ZONES):
            out.append(("network-subnets", "want one %s subnet in each of %s, got %s" % (
                kind, ", ".join(sorted(ZONES)), zs)))
    if not T.of_type("AWS::EC2::InternetGateway"):
        out.append(("network-egress", "no internet gateway"))
    egress = T.params.get("PrivateEgress", {})
    if sorted(egress.get("AllowedValues") or []) != ["endpoints", "nat-gateway"]:
        out.append(("network-egress", "a PrivateEgress parameter must choose nat-gateway or "
                    "endpoints"))
    nat = [r for r in T.of_type("AWS::EC2::NatGateway").values() if r.get("Condition")]
    services = set()
    for r in T.of_type("AWS::EC2::VPCEndpoint").values():
        sn = (r.get("Properties") or {}).get("ServiceName")
        text = sn.get("Fn::Sub", "") if isinstance(sn, dict) else str(sn)
        if r.get("Condition"):
            services.add(text.rsplit(".", 1)[-1])
    if not nat:
        out.append(("network-egress", "no NAT gateway under a condition"))
    if ENDPOINT_SERVICES - services:
        out.append(("network-egress", "no interface endpoint for %s" % ", ".join(
            sorted(ENDPOINT_SERVICES - services))))
    return out


RULES = [rule_alb_hardening, rule_alb_access_logs, rule_log_bucket, rule_tls, rule_waf,
         rule_alarms, rule_asg_notifications, rule_launch_templates, rule_instance_logs,
         rule_database, rule_network]


def check(tmpl):
    """[(rule name, message)] for a loaded template."""
    T = Template(tmpl)
    return [v for rule in RULES for v in rule(T)]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    bad = 0
    for path in sys.argv[1:]:
        with open(path) as f:
            tmpl = yaml.load(f, Loader=Loader)
        found = check(tmpl)
        for name, msg in found:
            print("%s: %s: %s" % (path, name, msg))
        if not found:
            print("%s: rules ok" % path)
        bad += bool(found)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
