"""Offline check of a CloudFormation template against CloudFormation's
published resource specification (the npm package @aws-cdk/cfnspec,
pinned in stack/spec/).

    python3 stack/check.py SPEC.json TEMPLATE.yaml

It reads the YAML with CloudFormation's short-form tags (!Ref, !Sub, ...)
and reports, with the path to each problem:
  - top-level sections, resource attributes and parameter types that do
    not exist;
  - resource types that are not in the specification;
  - properties that a type does not have, required properties that are
    missing, and values of the wrong shape (primitive, list, map or
    property type), checked all the way down;
  - Ref, Fn::GetAtt and Fn::Sub names that resolve to nothing: no such
    parameter, resource, pseudo parameter or attribute;
  - DependsOn and Condition names that do not exist.
Exit status 0 with "ok" when it finds nothing, 1 otherwise.
"""
import json
import re
import sys

import yaml

SECTIONS = {"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters",
            "Rules", "Mappings", "Conditions", "Transform", "Resources", "Outputs"}
RESOURCE_KEYS = {"Type", "Properties", "DependsOn", "Condition", "Metadata",
                 "CreationPolicy", "UpdatePolicy", "DeletionPolicy", "UpdateReplacePolicy"}
PSEUDO = {"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
          "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}
# The parameter types CloudFormation documents (AWS-specific ones by pattern).
PARAM_TYPES = re.compile(
    r"^(String|Number|List<Number>|CommaDelimitedList"
    r"|AWS::EC2::[A-Za-z]+::[A-Za-z]+|List<AWS::EC2::[A-Za-z]+::[A-Za-z]+>"
    r"|AWS::SSM::Parameter::(Name|Value<.+>))$")
INTRINSICS = {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Select", "Fn::Split",
              "Fn::If", "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Fn::Base64",
              "Fn::GetAZs", "Fn::FindInMap", "Fn::ImportValue", "Fn::Cidr",
              "Fn::Length", "Fn::ToJsonString", "Condition"}


class Loader(yaml.SafeLoader):
    pass


def _tag(name):
    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}
    return construct


for _t in INTRINSICS:
    Loader.add_constructor("!" + _t.replace("Fn::", ""), _tag(_t))


class Checker:
    def __init__(self, spec, tmpl):
        self.spec = spec
        self.t = tmpl
        self.errors = []
        self.params = set((tmpl.get("Parameters") or {}).keys())
        self.resources = tmpl.get("Resources") or {}
        self.conditions = set((tmpl.get("Conditions") or {}).keys())

    def err(self, path, msg):
        self.errors.append("%s: %s" % (path, msg))

    # --- names ------------------------------------------------------------
    def check_ref(self, path, name):
        if not isinstance(name, str):
            self.err(path, "Ref takes a name")
        elif name not in self.params and name not in self.resources and name not in PSEUDO:
            self.err(path, "Ref to %r, which is no parameter, resource or pseudo parameter"
                     % name)

    def check_getatt(self, path, args):
        if not (isinstance(args, list) and len(args) == 2):
            self.err(path, "Fn::GetAtt takes [resource, attribute]")
            return
        res, attr = args
        if res not in self.resources:
            self.err(path, "Fn::GetAtt of %r, which is no resource" % res)
            return
        rtype = self.resources[res].get("Type", "")
        attrs = self.spec["ResourceTypes"].get(rtype, {}).get("Attributes", {})
        if isinstance(attr, str) and attr not in attrs:
            self.err(path, "%s (%s) has no attribute %r" % (res, rtype, attr))

    def check_sub(self, path, args):
        if isinstance(args, str):
            text, local = args, {}
        elif isinstance(args, list) and len(args) == 2 and isinstance(args[1], dict):
            text, local = args
            self.walk(path + ".Fn::Sub[1]", local)
        else:
            self.err(path, "Fn::Sub takes a string or [string, map]")
            return
        for var in re.findall(r"\$\{([^}!][^}]*)\}", text):
            if var in local:
                continue
            if "." in var and not var.startswith("AWS::"):
                self.check_getatt(path, var.split(".", 1))
            else:
                self.check_ref(path, var)

    def check_condition_name(self, path, name):
        if name not in self.conditions:
            self.err(path, "condition %r is not defined" % name)

    def walk(self, path, value):
        """Checks every intrinsic function inside value."""
        if isinstance(value, dict):
            if len(value) == 1:
                (k, v), = value.items()
                if k == "Ref":
                    return self.check_ref(path, v)
                if k == "Fn::GetAtt":
                    return self.check_getatt(path, v)
                if k == "Fn::Sub":
                    return self.check_sub(path, v)
                if k == "Fn::If":
                    if isinstance(v, list) and len(v) == 3:
                        self.check_condition_name(path, v[0])
                        self.walk(path + ".Fn::If[1]", v[1])
                        self.walk(path + ".Fn::If[2]", v[2])
                    else:
                        self.err(path, "Fn::If takes [condition, then, else]")
                    return
                if k == "Condition" and isinstance(v, str):
                    return self.check_condition_name(path, v)
            for k, v in value.items():
                self.walk(path + "." + str(k), v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.walk("%s[%d]" % (path, i), v)

    # --- shapes -----------------------------------------------------------
    @staticmethod
    def intrinsic(value):
        return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in INTRINSICS

    def branches(self, value):
        """The values an Fn::If may take; other values as they are."""
        if isinstance(value, dict) and list(value) == ["Fn::If"] and \
                isinstance(value["Fn::If"], list) and len(value["Fn::If"]) == 3:
            for v in value["Fn::If"][1:]:
                yield from self.branches(v)
        elif value == {"Ref": "AWS::NoValue"}:
            return
        else:
            yield value

    def check_primitive(self, path, ptype, value):
        if self.intrinsic(value):
            return
        ok = {"String": lambda v: isinstance(v, (str, int, float)) and not isinstance(v, bool),
              "Integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
              or (isinstance(v, str) and re.fullmatch(r"-?\d+", v)),
              "Long": lambda v: (isinstance(v, int) and not isinstance(v, bool))
              or (isinstance(v, str) and re.fullmatch(r"-?\d+", v)),
              "Double": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
              or (isinstance(v, str) and re.fullmatch(r"-?\d+(\.\d+)?", v)),
              "Boolean": lambda v: isinstance(v, bool) or v in ("true", "false"),
              "Timestamp": lambda v: isinstance(v, str),
              "Json": lambda v: isinstance(v, (dict, str))}.get(ptype)
        if ok is None:
            self.err(path, "unknown primitive type %s in the specification" % ptype)
        elif not ok(value):
            self.err(path, "expected %s, got %r" % (ptype, value))

    def property_type(self, rtype, name):
        if name == "Tag":
            return self.spec["PropertyTypes"].get("Tag")
        return self.spec["PropertyTypes"].get("%s.%s" % (rtype, name))

    def check_value(self, path, rtype, pspec, value):
        for v in self.branches(value):
            self.check_one(path, rtype, pspec, v)

    def check_one(self, path, rtype, pspec, value):
        if "PrimitiveType" in pspec:
            return self.check_primitive(path, pspec["PrimitiveType"], value)
        t = pspec.get("Type")
        if t in ("List", "Map"):
            if self.intrinsic(value):
                return
            items = list(enumerate(value)) if t == "List" and isinstance(value, list) else \
                list(value.items()) if t == "Map" and isinstance(value, dict) else None
            if items is None:
                return self.err(path, "expected a %s, got %r" % (t.lower(), value))
            item = {"PrimitiveType": pspec["PrimitiveItemType"]} if "PrimitiveItemType" in pspec \
                else {"Type": pspec.get("ItemType")}
            for k, v in items:
                self.check_value("%s[%s]" % (path, k), rtype, item, v)
            return
        ptype = self.property_type(rtype, t)
        if ptype is None:
            return self.err(path, "property type %s.%s is not in the specification" % (rtype, t))
        if self.intrinsic(value):
            return
        self.check_properties(path, rtype, ptype.get("Properties", {}), value)

    def check_properties(self, path, rtype, props, value):
        if not isinstance(value, dict):
            return self.err(path, "expected properties, got %r" % (value,))
        for name, v in value.items():
            if name not in props:
                self.err("%s.%s" % (path, name), "%s has no property %r" % (rtype, name))
            else:
                self.check_value("%s.%s" % (path, name), rtype, props[name], v)
        for name, p in props.items():
            if p.get("Required") and name not in value:
                self.err(path, "required property %s is missing" % name)

    # --- the template -----------------------------------------------------
    def run(self):
        for k in self.t:
            if k not in SECTIONS:
                self.err(k, "not a template section")
        for name, p in (self.t.get("Parameters") or {}).items():
            if not PARAM_TYPES.match(str(p.get("Type", ""))):
                self.err("Parameters.%s" % name, "unknown parameter type %r" % p.get("Type"))
        for name, c in (self.t.get("Conditions") or {}).items():
            self.walk("Conditions.%s" % name, c)
        if not self.resources:
            self.err("Resources", "no resources")
        for name, r in self.resources.items():
            path = "Resources.%s" % name
            for k in r:
                if k not in RESOURCE_KEYS:
                    self.err("%s.%s" % (path, k), "not a resource attribute")
            rtype = r.get("Type", "")
            deps = r.get("DependsOn", [])
            for d in [deps] if isinstance(deps, str) else deps:
                if d not in self.resources:
                    self.err(path + ".DependsOn", "%r is no resource" % d)
            if "Condition" in r:
                self.check_condition_name(path + ".Condition", r["Condition"])
            rspec = self.spec["ResourceTypes"].get(rtype)
            if rspec is None:
                self.err(path + ".Type", "%r is not a resource type in the specification"
                         % rtype)
                continue
            self.check_properties(path + ".Properties", rtype, rspec.get("Properties", {}),
                                  r.get("Properties", {}))
            self.walk(path, {k: v for k, v in r.items() if k != "Condition"})
        for name, o in (self.t.get("Outputs") or {}).items():
            if "Value" not in o:
                self.err("Outputs.%s" % name, "no Value")
            self.walk("Outputs.%s" % name, o)
        return self.errors


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    with open(sys.argv[2]) as f:
        try:
            tmpl = yaml.load(f, Loader=Loader)
        except yaml.YAMLError as e:
            print("%s: not valid YAML: %s" % (sys.argv[2], e))
            return 1
    if not isinstance(tmpl, dict):
        print("%s: not a template" % sys.argv[2])
        return 1
    errors = Checker(spec, tmpl).run()
    for e in errors:
        print("%s: %s" % (sys.argv[2], e))
    if not errors:
        print("%s: ok (%d resources, specification %s)" % (
            sys.argv[2], len(tmpl.get("Resources", {})), spec.get("ResourceSpecificationVersion")))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
