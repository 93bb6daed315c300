"""The CloudFormation template: the offline checker passes it, catches
real mistakes in copies of it, and the template holds the reference
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

TEMPLATE = os.path.join(TOP, "stack", "fcgi-app.yaml")
SPEC = os.environ.get("CFN_SPEC", os.path.join(
    TOP, "stack", "spec", "node_modules", "@aws-cdk", "cfnspec", "spec", "specification.json"))


def load():
    with open(TEMPLATE) as f:
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


def source():
    with open(TEMPLATE) as f:
        return f.read()


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
