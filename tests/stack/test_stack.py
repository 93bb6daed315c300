"""The CloudFormation templates (web tier, network, database): the
offline checker and the project's rules (stack/rules.py) pass them, catch
real mistakes in copies of them, and the templates hold the reference
settings of the architecture."""
import copy
import os
import subprocess
import sys
import tempfile
import unittest

import yaml

from lib import TOP

sys.path.insert(0, os.path.join(TOP, "stack"))  # the checker under test
import check  # noqa: E402
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


def run_rules(text):
    """Runs stack/rules.py on a template text; returns (exit status, output)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    try:
        p = subprocess.run([sys.executable, os.path.join(TOP, "stack", "rules.py"), f.name],
                           capture_output=True, text=True, timeout=120)
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
                ('      EngineVersion: "8.0"', '      EngineVersion: "5.7"', "rds-mysql-8.0"),
                ("      SourceSecurityGroupId: !Ref LoaderSecurityGroup",
                 "      CidrIp: 10.0.0.0/16", "rds-security-group"),
                ("      MetricName: FreeStorageSpace", "      MetricName: ReadIOPS", "alarms"),
                ("      MetricName: CPUUtilization", "      MetricName: ReadIOPS", "alarms"),
                ("          HttpPutResponseHopLimit: 1", "          HttpPutResponseHopLimit: 3",
                 "imdsv2")):
            self.broken(DATABASE, old, new, rule)

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
                 "ServiceName: !Sub com.amazonaws.${AWS::Region}.logs", "network-egress"),
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
