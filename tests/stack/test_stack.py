"""The CloudFormation templates (web tier, network, database): the
offline checker and the project's rules (stack/rules.py) pass them, catch
real mistakes in copies of them, and the templates hold the reference
settings of the architecture."""
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

import yaml

from lib import TOP

sys.path.insert(0, os.path.join(TOP, "stack"))  # the checker under test
import budget  # noqa: E402
import check  # noqa: E402
import rds  # noqa: E402
import rules  # noqa: E402

TEMPLATE = os.path.join(TOP, "stack", "fcgi-app.yaml")
NETWORK = os.path.join(TOP, "stack", "network.yaml")
DATABASE = os.path.join(TOP, "stack", "database.yaml")
TEMPLATES = (TEMPLATE, NETWORK, DATABASE)
SPEC = os.environ.get("CFN_SPEC", os.path.join(
    TOP, "stack", "spec", "node_modules", "@aws-cdk", "cfnspec", "spec", "specification.json"))


def load(path=TEMPLATE):
    with open(path) as f:
        return yaml.load(f, Loader=check.Loader)


def run_check(text):
    """Runs the checker on a template text; returns (exit status, output)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    try:
        p = subprocess.run([sys.executable, os.path.join(TOP, "stack", "check.py"), SPEC, f.name],
                           capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout + p.stderr
    finally:
        os.unlink(f.name)


def source(path=TEMPLATE):
    with open(path) as f:
        return f.read()


def run_rules(text, today=None):
    """Runs stack/rules.py on a template text, on the date today
    (RDS_TODAY) if given; returns (exit status, output)."""
    env = dict(os.environ)
    if today:
        env["RDS_TODAY"] = today
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    try:
        p = subprocess.run([sys.executable, os.path.join(TOP, "stack", "rules.py"), f.name],
                           capture_output=True, text=True, timeout=120, env=env)
        return p.returncode, p.stdout + p.stderr
    finally:
        os.unlink(f.name)


class Checker(unittest.TestCase):
    def test_template_passes(self):
        rc, out = run_check(source())
        self.assertEqual(rc, 0, out)
        self.assertIn("ok (", out)

    def mutated(self, old, new):
        text = source()
        self.assertIn(old, text)
        return run_check(text.replace(old, new, 1))

    def test_misspelt_property(self):
        rc, out = self.mutated("      HealthCheckPath: /healthz", "      HealthCheckPth: /healthz")
        self.assertEqual(rc, 1)
        self.assertIn("Resources.TargetGroup.Properties.HealthCheckPth: "
                      "AWS::ElasticLoadBalancingV2::TargetGroup has no property 'HealthCheckPth'",
                      out)

    def test_misspelt_nested_property(self):
        rc, out = self.mutated("          HttpTokens: required", "          HttpToken: required")
        self.assertEqual(rc, 1)
        self.assertIn("LaunchTemplateData.MetadataOptions.HttpToken", out)

    def test_dangling_ref(self):
        rc, out = self.mutated("      TargetGroupARNs:\n        - !Ref TargetGroup",
                               "      TargetGroupARNs:\n        - !Ref TargetGrup")
        self.assertEqual(rc, 1)
        self.assertIn("Ref to 'TargetGrup', which is no parameter, resource or pseudo parameter",
                      out)

    def test_dangling_getatt_and_sub(self):
        rc, out = self.mutated("Value: !GetAtt LoadBalancer.DNSName",
                               "Value: !GetAtt LoadBalancer.DnsName")
        self.assertEqual(rc, 1)
        self.assertIn("has no attribute 'DnsName'", out)
        rc, out = self.mutated("${AWS::StackName}-instance", "${StackName}-instance")
        self.assertEqual(rc, 1)
        self.assertIn("Ref to 'StackName'", out)

    def test_unknown_type_wrong_shape_and_condition(self):
        rc, out = self.mutated("Type: AWS::AutoScaling::ScalingPolicy",
                               "Type: AWS::AutoScaling::ScalingPolicyX")
        self.assertEqual(rc, 1)
        self.assertIn("is not a resource type in the specification", out)
        rc, out = self.mutated("      HealthCheckGracePeriod: 300",
                               "      HealthCheckGracePeriod: [300]")
        self.assertEqual(rc, 1)
        self.assertIn("expected Integer", out)
        rc, out = self.mutated("    Condition: HasCertificate", "    Condition: HasCert")
        self.assertEqual(rc, 1)
        self.assertIn("condition 'HasCert' is not defined", out)

    def test_missing_required_property(self):
        rc, out = self.mutated("      MaxSize: \"2\"\n", "")
        self.assertEqual(rc, 1)
        self.assertIn("required property MaxSize is missing", out)

    def test_not_yaml(self):
        rc, out = run_check("Resources: [\n")
        self.assertEqual(rc, 1)
        self.assertIn("not valid YAML", out)


class Architecture(unittest.TestCase):
    """The reference settings, read from the template itself."""

    @classmethod
    def setUpClass(cls):
        cls.t = load()
        cls.r = cls.t["Resources"]

    def props(self, name):
        return self.r[name]["Properties"]

    def test_group_sizes_and_health(self):
        asg = self.props("AutoScalingGroup")
        self.assertEqual((asg["MinSize"], asg["DesiredCapacity"], asg["MaxSize"]), ("1", "1", "2"))
        self.assertEqual(asg["HealthCheckType"], "ELB")
        self.assertGreater(asg["HealthCheckGracePeriod"], 0)
        self.assertEqual(asg["VPCZoneIdentifier"], {"Ref": "InstanceSubnetIds"})
        roll = self.r["AutoScalingGroup"]["UpdatePolicy"]["AutoScalingRollingUpdate"]
        self.assertEqual(roll["MinInstancesInService"], 1)
        self.assertTrue(roll["WaitOnResourceSignals"])
        self.assertEqual(self.props("CpuScalingPolicy")["PolicyType"], "TargetTrackingScaling")

    def test_target_group(self):
        tg = self.props("TargetGroup")
        self.assertEqual((tg["TargetType"], tg["Protocol"], tg["Port"]), ("instance", "HTTP", 80))
        self.assertEqual(tg["HealthCheckPath"], "/healthz")
        delay = {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}[
            "deregistration_delay.timeout_seconds"]
        self.assertTrue(0 < int(delay) <= 60, delay)

    def test_load_balancer_and_security_groups(self):
        lb = self.props("LoadBalancer")
        self.assertEqual(lb["Scheme"], "internet-facing")
        alb_in = self.props("LoadBalancerSecurityGroup")["SecurityGroupIngress"][0]
        self.assertEqual((alb_in["FromPort"], alb_in["CidrIp"]), (80, "0.0.0.0/0"))
        inst_in = self.props("InstanceSecurityGroup")["SecurityGroupIngress"]
        self.assertEqual(inst_in, [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                                    "SourceSecurityGroupId": {"Ref": "LoadBalancerSecurityGroup"}}])
        db = self.props("DatabaseIngress")
        self.assertEqual(db["GroupId"], {"Ref": "DatabaseSecurityGroupId"})
        self.assertEqual(db["SourceSecurityGroupId"], {"Ref": "InstanceSecurityGroup"})
        self.assertIn("LoadBalancerDNSName", self.t["Outputs"])

    def test_launch_template(self):
        lt = self.props("LaunchTemplate")["LaunchTemplateData"]
        self.assertEqual(lt["MetadataOptions"]["HttpTokens"], "required")
        self.assertEqual(lt["ImageId"], {"Ref": "AmiId"})
        self.assertEqual(lt["KeyName"], {"Fn::If": ["HasKeyName", {"Ref": "KeyName"},
                                                    {"Ref": "AWS::NoValue"}]})
        self.assertEqual(self.t["Parameters"]["KeyName"]["Default"], "")

    def test_user_data_is_the_images_script(self):
        sub = self.props("LaunchTemplate")["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
        with open(os.path.join(TOP, "packer", "user-data.sh")) as f:
            body = f.read().split("# --- body ---\n", 1)[1]
        head, _, rest = sub.partition("export FCGI_APP_REGION='${AWS::Region}'\n")
        self.assertIn("export FCGI_APP_SSM_PATH='${SsmPath}'", head)
        self.assertEqual(rest, body)

    def test_role_reads_only_the_apps_parameters(self):
        role = self.props("InstanceRole")
        self.assertEqual(role["ManagedPolicyArns"], [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}])
        stmts = role["Policies"][0]["PolicyDocument"]["Statement"]
        ssm = [s for s in stmts if s["Action"] == "ssm:GetParameters"][0]
        self.assertTrue(ssm["Resource"]["Fn::Sub"].endswith(":parameter${SsmPath}*"))
        for s in stmts:
            self.assertNotIn("*", s["Action"])


class CheckerUnit(unittest.TestCase):
    def test_mutation_of_the_loaded_template(self):
        """The checker object itself, on a template changed in memory."""
        import json
        with open(SPEC) as f:
            spec = json.load(f)
        t = copy.deepcopy(load())
        self.assertEqual(check.Checker(spec, t).run(), [])
        t["Resources"]["LoadBalancer"]["DependsOn"] = "Nothing"
        t["Resources"]["LoadBalancer"]["Propertie"] = {}
        errors = check.Checker(spec, t).run()
        self.assertIn("Resources.LoadBalancer.DependsOn: 'Nothing' is no resource", errors)
        self.assertIn("Resources.LoadBalancer.Propertie: not a resource attribute", errors)


class AllTemplates(unittest.TestCase):
    def test_every_template_passes_the_specification_and_the_rules(self):
        for path in TEMPLATES:
            rc, out = run_check(source(path))
            self.assertEqual(rc, 0, out)
            self.assertIn("ok (", out)
            rc, out = run_rules(source(path))
            self.assertEqual(rc, 0, out)
            self.assertIn("rules ok", out)

    def test_spec_check_catches_a_mistake_in_each_new_template(self):
        for path, old, new, says in (
                (NETWORK, "      EnableDnsHostnames: true", "      EnableDnsHostname: true",
                 "has no property 'EnableDnsHostname'"),
                (NETWORK, "NatGatewayId: !Ref NatGateway", "NatGatewayId: !Ref NatGw",
                 "Ref to 'NatGw'"),
                (DATABASE, "      StorageEncrypted: true", "      StorageEncrypted: [true]",
                 "expected Boolean"),
                (DATABASE, "!GetAtt Database.MasterUserSecret.SecretArn",
                 "!GetAtt Database.MasterUserSecretArn", "has no attribute")):
            text = source(path)
            self.assertIn(old, text)
            rc, out = run_check(text.replace(old, new, 1))
            self.assertEqual(rc, 1, (path, new))
            self.assertIn(says, out)


class Rules(unittest.TestCase):
    """Each rule of stack/rules.py, broken on purpose in a copy of the
    template it guards."""

    def broken(self, path, old, new, rule):
        text = source(path)
        self.assertIn(old, text, "the template changed: update the test")
        rc, out = run_rules(text.replace(old, new, 1))
        self.assertEqual(rc, 1, out)
        self.assertIn(": %s: " % rule, out)
        return out

    def test_rules_in_process(self):
        """rules.check itself, on templates changed in memory."""
        for path in TEMPLATES:
            self.assertEqual(rules.check(load(path)), [], path)
        t = load(TEMPLATE)
        t["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"][
            "MetadataOptions"]["HttpTokens"] = "optional"
        self.assertEqual([n for n, _ in rules.check(t)], ["imdsv2"])

    # --- the web tier
    def test_drop_invalid_header_fields(self):
        self.broken(TEMPLATE, 'drop_invalid_header_fields.enabled\n          Value: "true"',
                    'drop_invalid_header_fields.enabled\n          Value: "false"',
                    "alb-drop-invalid-headers")

    def test_desync_mitigation(self):
        self.broken(TEMPLATE, "AllowedValues: [defensive, strictest]",
                    "AllowedValues: [monitor, defensive, strictest]", "alb-desync-mitigation")

    def test_deletion_protection_is_a_parameter(self):
        self.broken(TEMPLATE, "          Value: !Ref LoadBalancerDeletionProtection",
                    '          Value: "false"', "alb-deletion-protection")

    def test_access_logs_on_by_default(self):
        self.broken(TEMPLATE, '  AccessLogs:\n    Type: String\n    Default: "true"',
                    '  AccessLogs:\n    Type: String\n    Default: "false"', "alb-access-logs")

    def test_log_bucket_encryption_public_block_lifecycle(self):
        self.broken(TEMPLATE, "              SSEAlgorithm: AES256", "              SSEAlgorith: AES256",
                    "bucket-encryption")
        self.broken(TEMPLATE, "        RestrictPublicBuckets: true",
                    "        RestrictPublicBuckets: false", "bucket-public-access-block")
        self.broken(TEMPLATE, "            ExpirationInDays: !Ref AccessLogDays",
                    "            NoncurrentVersionExpirationInDays: 1",
                    "bucket-lifecycle")

    def test_log_delivery_account(self):
        self.broken(TEMPLATE, 'Id: "600734575887"', 'Id: "127311923021"',
                    "bucket-elb-delivery")

    def test_tls_policy(self):
        self.broken(TEMPLATE, "SslPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06",
                    "SslPolicy: ELBSecurityPolicy-2016-08", "tls-1-2")
        self.broken(TEMPLATE, "      SslPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06\n", "",
                    "tls-1-2")

    def test_waf_association(self):
        self.broken(TEMPLATE, "      WebACLArn: !Ref WebAclArn",
                    "      WebACLArn: arn:aws:wafv2:ap-northeast-2:1:regional/webacl/x/y",
                    "waf-association")

    def test_alarms_of_the_web_tier(self):
        for metric in ("HealthyHostCount", "UnHealthyHostCount", "HTTPCode_Target_5XX_Count",
                       "HTTPCode_ELB_5XX_Count", "TargetResponseTime"):
            self.broken(TEMPLATE, "MetricName: %s\n" % metric, "MetricName: Other\n", "alarms")
        self.broken(TEMPLATE, "      ExtendedStatistic: p99", "      ExtendedStatistic: p50",
                    "alarms")
        self.broken(TEMPLATE, "      Threshold: 1\n      # no data", "      Threshold: 2\n"
                    "      # no data", "alarms")

    def test_asg_notifications(self):
        out = self.broken(TEMPLATE, "            - autoscaling:EC2_INSTANCE_LAUNCH_ERROR\n", "",
                          "asg-notifications")
        self.assertIn("does not notify autoscaling:EC2_INSTANCE_LAUNCH_ERROR", out)

    def test_launch_template_imdsv2_and_root_volume(self):
        self.broken(TEMPLATE, "          HttpPutResponseHopLimit: 1",
                    "          HttpPutResponseHopLimit: 2", "imdsv2")
        self.broken(TEMPLATE, "          HttpTokens: required", "          HttpTokens: optional",
                    "imdsv2")
        self.broken(TEMPLATE, "              VolumeType: gp3\n              VolumeSize",
                    "              VolumeType: gp2\n              VolumeSize",
                    "encrypted-gp3-root")
        self.broken(TEMPLATE, "              VolumeSize: !Ref RootVolumeSize\n"
                    "              Encrypted: true",
                    "              VolumeSize: !Ref RootVolumeSize\n"
                    "              Encrypted: false", "encrypted-gp3-root")

    # --- the database
    def test_database_rules(self):
        for old, new, rule in (
                ("      StorageEncrypted: true", "      StorageEncrypted: false",
                 "rds-encrypted"),
                ("      PubliclyAccessible: false", "      PubliclyAccessible: true",
                 "rds-private"),
                ("    MinValue: 1\n    MaxValue: 35", "    MinValue: 0\n    MaxValue: 35",
                 "rds-backups"),
                ("      MultiAZ: !Ref MultiAZ", "      MultiAZ: false", "rds-parameters"),
                ("      DeletionProtection: !Ref DeletionProtection",
                 "      DeletionProtection: true", "rds-parameters"),
                ("      ManageMasterUserPassword: true", "      MasterUserPassword: changeme",
                 "rds-managed-password"),
                ("      EngineVersion: !Ref EngineVersion", '      EngineVersion: "8.4"',
                 "rds-engine-version"),
                ("      Engine: mysql", "      Engine: mariadb", "rds-engine-version"),
                ("      DBParameterGroupName: !Ref ParameterGroup\n", "", "rds-require-tls"),
                ('        require_secure_transport: "1"', '        require_secure_transport: "0"',
                 "rds-require-tls"),
                ("      Family: !Sub mysql${EngineVersion}", "      Family: mysql8.0",
                 "rds-require-tls"),
                ("      SourceSecurityGroupId: !Ref LoaderSecurityGroup",
                 "      CidrIp: 10.0.0.0/16", "rds-security-group"),
                ("      MetricName: FreeStorageSpace", "      MetricName: ReadIOPS", "alarms"),
                ("      MetricName: CPUUtilization", "      MetricName: ReadIOPS", "alarms"),
                ("          HttpPutResponseHopLimit: 1", "          HttpPutResponseHopLimit: 3",
                 "imdsv2")):
            self.broken(DATABASE, old, new, rule)

    def test_engine_version_in_standard_support(self):
        """8.4 passes today and on its last day of standard support, and
        fails the day after; 8.0 passed on 2026-07-31 and fails from
        2026-08-01 (and today); a version stack/rds.json does not know fails."""
        text = source(DATABASE)
        old = '    Default: "8.4"\n    AllowedValues: ["8.4"]'
        self.assertIn(old, text)
        v80 = text.replace(old, '    Default: "8.0"\n    AllowedValues: ["8.0"]', 1)
        for tmpl, today, ok in ((text, None, True), (text, "2029-07-31", True),
                                (text, "2029-08-01", False), (v80, "2026-07-31", True),
                                (v80, "2026-08-01", False), (v80, None, False)):
            rc, out = run_rules(tmpl, today)
            self.assertEqual(rc, 0 if ok else 1, (today, out))
            if not ok:
                self.assertIn(": rds-engine-version: ", out)
                self.assertIn("left RDS standard support", out)
        # an allowed value, not only the default, must be supported too
        rc, out = run_rules(text.replace(old, '    Default: "8.4"\n    AllowedValues: ["8.4", '
                                         '"8.0"]', 1))
        self.assertEqual(rc, 1, out)
        self.assertIn("MySQL 8.0 left RDS standard support on 2026-07-31", out)
        rc, out = run_rules(text.replace(old, '    Default: "9.9"\n    AllowedValues: ["9.9"]', 1))
        self.assertEqual(rc, 1, out)
        self.assertIn("engine version '9.9' is not in stack/rds.json", out)

    def test_support_dates_come_from_the_table(self):
        """rds.support_problem reads stack/rds.json: the day a major
        version leaves standard support is the day after its date there."""
        import datetime
        for m, v in rds.table()["versions"]["majors"].items():
            end = datetime.date.fromisoformat(v["end_of_standard_support"])
            self.assertIsNone(rds.support_problem(m, end))
            self.assertIsNotNone(rds.support_problem(m + ".1", end + datetime.timedelta(days=1)))
        self.assertEqual(rds.table()["versions"]["majors"]["8.0"]["end_of_standard_support"],
                         "2026-07-31")

    # --- the network
    def test_network_rules(self):
        for old, new, rule in (
                ("    Default: ap-northeast-2c", "    Default: ap-northeast-2b",
                 "network-subnets"),
                ("      CidrBlock: !Ref PrivateSubnetCCidr\n      MapPublicIpOnLaunch: false",
                 "      CidrBlock: !Ref PrivateSubnetCCidr\n      MapPublicIpOnLaunch: true",
                 "network-subnets"),
                ("AllowedValues: [nat-gateway, endpoints]", "AllowedValues: [nat-gateway]",
                 "network-egress"),
                ("ServiceName: !Sub com.amazonaws.${AWS::Region}.ec2messages",
                 "ServiceName: !Sub com.amazonaws.${AWS::Region}.sts", "network-egress"),
                ("ServiceName: !Sub com.amazonaws.${AWS::Region}.logs",
                 "ServiceName: !Sub com.amazonaws.${AWS::Region}.sts", "network-egress"),
                ("  NatGateway:\n    Type: AWS::EC2::NatGateway\n    Condition: UseNat\n",
                 "  NatGateway:\n    Type: AWS::EC2::NatGateway\n", "network-egress")):
            self.broken(NETWORK, old, new, rule)


class Stacks(unittest.TestCase):
    """The three templates fit together: each one's outputs are the next
    one's parameters (make stack-deploy-all chains them by these names)."""

    def test_outputs_feed_parameters(self):
        net, db, web = load(NETWORK), load(DATABASE), load(TEMPLATE)
        for name in ("VpcId", "PublicSubnetIds", "PrivateSubnetIds"):
            self.assertIn(name, net["Outputs"])
        for name in ("VpcId", "PrivateSubnetIds"):
            self.assertIn(name, db["Parameters"])
        for name in ("DatabaseSecurityGroupId", "AlarmTopicArn"):
            self.assertIn(name, db["Outputs"])
            self.assertIn(name, web["Parameters"])
        deploy = ""
        for name in ("deploy.sh", "all.sh"):
            with open(os.path.join(TOP, "stack", name)) as f:
                deploy += f.read()
        for name in ("VpcId", "PublicSubnetIds", "PrivateSubnetIds", "DatabaseSecurityGroupId",
                     "AlarmTopicArn", "DatabaseHost", "MasterUserSecretArn"):
            self.assertIn(name, deploy)


def run_budget(web_text, db_text):
    """Runs stack/budget.py on two template texts; returns (exit status, output)."""
    paths = []
    try:
        for text in (web_text, db_text):
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
                f.write(text)
            paths.append(f.name)
        p = subprocess.run([sys.executable, os.path.join(TOP, "stack", "budget.py")] + paths,
                           capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout + p.stderr
    finally:
        for path in paths:
            os.unlink(path)


class Budget(unittest.TestCase):
    """The web tier's database connections at their most fit every
    database class the database stack allows, less the reserve."""

    def test_the_shipped_stacks_fit(self):
        rc, out = run_budget(source(TEMPLATE), source(DATABASE))
        self.assertEqual(rc, 0, out)
        self.assertIn("budget: ok", out)
        # the default class, with the arithmetic of docs/aws.md
        self.assertIn("budget: db.t3.micro: 16 connections x 3 instances (MaxSize 2 + "
                      "MaxBatchSize 1) = 48; max_connections 64 - 10 reserved = 54", out)

    def test_the_numbers(self):
        """RDS's formula on the class memory less the assumed reserve."""
        self.assertEqual(rds.max_connections("db.t3.micro"), (1024 - 256) * 2 ** 20 // 12582880)
        self.assertEqual(rds.max_connections("db.t3.large"),
                         (8 * 2 ** 30 - 8 * 2 ** 30 // 10) // 12582880)
        self.assertEqual(rds.budget("db.t3.micro"), rds.max_connections("db.t3.micro") - 10)
        self.assertIsNone(rds.max_connections("db.x9.huge"))
        web, db = load(TEMPLATE), load(DATABASE)
        self.assertEqual(budget.web_tier_most(web)[:2], (16, 3))
        self.assertEqual(db["Parameters"]["InstanceClass"]["Default"], "db.t3.micro")
        self.assertEqual(sorted(budget.classes(db)),
                         sorted(rds.table()["classes"]["memory_gib"]))

    def test_a_budget_that_does_not_fit_fails(self):
        web, db = source(TEMPLATE), source(DATABASE)
        for text_web, text_db, says in (
                # more connections per instance than a micro class holds
                (web.replace("    MinValue: 1\n    MaxValue: 16\n",
                             "    MinValue: 1\n    MaxValue: 20\n", 1), db,
                 "db.t3.micro: the web tier may open 60 connections, more than the 54"),
                # a default above the MaxValue counts too
                (web.replace("    Default: 8\n    MinValue: 1\n", "    Default: 19\n"
                             "    MinValue: 1\n", 1), db, "may open 57 connections"),
                # a bigger group
                (web.replace('      MaxSize: "2"', '      MaxSize: "4"', 1), db,
                 "may open 80 connections"),
                # a rolling update that starts two at once
                (web.replace("        MaxBatchSize: 1\n", "        MaxBatchSize: 2\n", 1), db,
                 "may open 64 connections"),
                # user data that does not hand the parameter to the program
                (web.replace('--db-connections "$FCGI_APP_DB_CONNECTIONS"', "", 1), db,
                 "does not pass DbConnectionsPerInstance to fcgi-app-configure as "
                 "--db-connections"),
                # a class the table does not know
                (web, db.replace("AllowedValues: [db.t3.micro,", "AllowedValues: [db.x9.huge, "
                                 "db.t3.micro,", 1), "db.x9.huge is not in stack/rds.json")):
            self.assertNotEqual(text_web + text_db, web + db, says)
            rc, out = run_budget(text_web, text_db)
            self.assertEqual(rc, 1, out)
            self.assertIn(says, out)
            self.assertNotIn("budget: ok", out)

    def test_the_instances_get_the_count(self):
        """The launch template hands DbConnectionsPerInstance to the
        instance, whose user data passes it as fcgi-app-configure's
        --db-connections, which writes db-connections = N: the program's
        database connections for the whole instance, which its workers
        share (tests/image runs the script and the program on it)."""
        web = load(TEMPLATE)
        sub = web["Resources"]["LaunchTemplate"]["Properties"][
            "LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
        self.assertIn("export FCGI_APP_DB_CONNECTIONS='${DbConnectionsPerInstance}'\n", sub)
        self.assertIn('--db-connections "$FCGI_APP_DB_CONNECTIONS"', sub)
        self.assertTrue(budget.passes_db_connections(web))
        self.assertNotIn("workers", sub.lower())
        with open(os.path.join(TOP, "packer", "files", "fcgi-app-configure")) as f:
            configure = f.read()
        self.assertIn('print("db-connections = " + db_connections)', configure)
        self.assertNotIn("--workers", configure)


sys.path.insert(0, os.path.join(TOP, "packer"))
import agent_config  # noqa: E402

AGENT = os.path.join(TOP, "packer", "files", "amazon-cloudwatch-agent.json")


class InstanceLogs(unittest.TestCase):
    """The web tier's log groups and the role's rights on them
    (stack/rules.py), and the image's CloudWatch agent configuration
    against our schema and the stack's groups (packer/agent_config.py)."""

    def broken(self, old, new, rule):
        return Rules.broken(self, TEMPLATE, old, new, rule)

    def test_log_group_rules(self):
        self.broken("      LogGroupName: /fcgi-app/journal\n      RetentionInDays: !Ref "
                    "LogRetentionDays", "      LogGroupName: /fcgi-app/journal\n      "
                    "RetentionInDays: 30", "instance-logs")
        # a log action on every group
        self.broken("                  - !GetAtt ErrorLogGroup.Arn\n",
                    "                  - \"*\"\n", "instance-logs-least-privilege")
        # more than the agent needs
        self.broken("                  - logs:DescribeLogStreams\n",
                    "                  - logs:DescribeLogStreams\n"
                    "                  - logs:DeleteLogGroup\n", "instance-logs-least-privilege")
        # a group the instances cannot write to
        out = self.broken("                  - !GetAtt AccessLogGroup.Arn\n", "",
                          "instance-logs")
        self.assertIn("may not write to AccessLogGroup", out)
        # fewer groups than logs
        text = source(TEMPLATE)
        old = ("  ErrorLogGroup:\n    Type: AWS::Logs::LogGroup\n    Properties:\n"
               "      LogGroupName: /fcgi-app/nginx-error\n"
               "      RetentionInDays: !Ref LogRetentionDays\n")
        self.assertIn(old, text)
        t = yaml.load(text.replace(old, ""), Loader=check.Loader)
        self.assertIn("instance-logs", [n for n, _ in rules.rule_instance_logs(
            rules.Template(t))])

    def test_role_logs_only_on_the_groups(self):
        stmts = load()["Resources"]["InstanceRole"]["Properties"]["Policies"][0][
            "PolicyDocument"]["Statement"]
        logs = [s for s in stmts if any(str(a).startswith("logs:") for a in
                                        ([s["Action"]] if isinstance(s["Action"], str)
                                         else s["Action"]))]
        self.assertEqual(len(logs), 1)
        self.assertEqual(sorted(logs[0]["Action"]), sorted(rules.AGENT_LOG_ACTIONS))
        self.assertEqual(logs[0]["Resource"], [{"Fn::GetAtt": [g, "Arn"]} for g in (
            "JournalLogGroup", "AccessLogGroup", "ErrorLogGroup")])

    def agent(self):
        with open(AGENT) as f:
            return json.load(f)

    def test_agent_config_passes(self):
        p = subprocess.run([sys.executable, os.path.join(TOP, "packer", "agent_config.py")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("agent config ok (3 files", p.stdout)
        self.assertEqual(agent_config.problems(self.agent(), load()), [])

    def test_agent_config_schema_catches_mistakes(self):
        def item(c):
            return c["logs"]["logs_collected"]["files"]["collect_list"][0]
        for change, says in (
                (lambda c: item(c).pop("file_path"), "'file_path' is a required property"),
                (lambda c: item(c).update(log_group_nme="/x"), "log_group_nme"),
                (lambda c: item(c).update(timezone="KST"), "'KST' is not one of"),
                (lambda c: item(c).update(timestamp_format="%Q"), "does not match"),
                (lambda c: item(c).update(file_path="var/log/x"), "does not match"),
                (lambda c: c["logs"].update(logs_collected={}), "'files' is a required"),
                (lambda c: c.update(metrics={}), "Additional properties are not allowed"),
                (lambda c: item(c).update(log_stream_name="{instance}"), "does not match")):
            c = self.agent()
            change(c)
            found = agent_config.problems(c, load())
            self.assertTrue(any(says in p for p in found), (says, found))

    def test_agent_groups_match_the_stack(self):
        c = self.agent()
        c["logs"]["logs_collected"]["files"]["collect_list"][1]["log_group_name"] = \
            "/fcgi-app/access"
        found = agent_config.problems(c, load())
        self.assertIn("the agent writes to /fcgi-app/access, which the stack does not create",
                      found)
        self.assertIn("the stack creates /fcgi-app/nginx-access, which the agent does not "
                      "write to", found)
        c = self.agent()
        c["logs"]["logs_collected"]["files"]["collect_list"][0]["log_stream_name"] = \
            "{hostname}"
        self.assertTrue(any("named by the instance id" in p
                            for p in agent_config.problems(c, load())))
        c = self.agent()
        c["logs"]["logs_collected"]["files"]["collect_list"].pop(0)
        self.assertIn("the agent does not ship /var/log/fcgi-app-journal.log "
                      "(fcgi-app-journal.service)", agent_config.problems(c, load()))

    def test_shipped_files_are_the_ones_written(self):
        """The files the agent reads are the ones the image writes: the
        journal copy's unit and script, nginx's site and nginx.conf."""
        with open(os.path.join(TOP, "packer", "files", "fcgi-app-journal.service")) as f:
            unit = f.read()
        self.assertIn("StandardOutput=append:/var/log/fcgi-app-journal.log\n", unit)
        self.assertIn("ExecStart=/usr/local/sbin/fcgi-app-journal-copy ", unit)
        with open(os.path.join(TOP, "packer", "files", "fcgi-app-journal-copy")) as f:
            self.assertIn("--unit=fcgi-app.service", f.read())
        with open(os.path.join(TOP, "nginx", "fcgi-app.conf")) as f:
            self.assertIn("access_log /var/log/nginx/fcgi-app.access.log fcgi_app;", f.read())
        with open(os.path.join(TOP, "packer", "files", "nginx.conf")) as f:
            self.assertIn("error_log /var/log/nginx/error.log;", f.read())
        self.assertEqual(set(agent_config.collected(self.agent())), set(agent_config.FILES))
