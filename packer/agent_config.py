"""The CloudWatch agent's configuration in the image, checked offline:
against packer/cloudwatch-agent.schema.json (a schema of our own, from
the agent's documented configuration reference), and against the web
tier's template, whose log groups must be the ones the agent writes to.

    python3 packer/agent_config.py [CONFIG.json [STACK.yaml]]

Prints one line per problem, or "agent config ok"; exit status 1 on any.
Needs python3-jsonschema and python3-yaml.
"""
import json
import os
import sys

import jsonschema
import yaml

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(TOP, "packer", "files", "amazon-cloudwatch-agent.json")
SCHEMA = os.path.join(TOP, "packer", "cloudwatch-agent.schema.json")
STACK = os.path.join(TOP, "stack", "fcgi-app.yaml")
sys.path.insert(0, os.path.join(TOP, "stack"))
from check import Loader  # noqa: E402

# each file the agent ships, and what writes it on the instance
FILES = {"/var/log/fcgi-app-journal.log": "fcgi-app-journal.service",
         "/var/log/nginx/fcgi-app.access.log": "nginx's fcgi-app site",
         "/var/log/nginx/error.log": "nginx.conf"}


def schema_problems(config):
    """Every way config breaks the schema, as 'path: message' lines."""
    with open(SCHEMA) as f:
        schema = json.load(f)
    v = jsonschema.Draft7Validator(schema)
    return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(top)", e.message)
            for e in sorted(v.iter_errors(config), key=lambda e: list(e.absolute_path))]


def collected(config):
    """{file_path: log_group_name} of the files the agent ships."""
    items = config["logs"]["logs_collected"]["files"]["collect_list"]
    return {i["file_path"]: i["log_group_name"] for i in items}


def stack_groups(template):
    """The LogGroupName of every AWS::Logs::LogGroup of a template."""
    return {(r.get("Properties") or {}).get("LogGroupName")
            for r in (template.get("Resources") or {}).values()
            if r.get("Type") == "AWS::Logs::LogGroup"}


def problems(config, template):
    out = schema_problems(config)
    if out:
        return out
    files = collected(config)
    for path in sorted(set(FILES) - set(files)):
        out.append("the agent does not ship %s (%s)" % (path, FILES[path]))
    for path in sorted(set(files) - set(FILES)):
        out.append("the agent ships %s, which nothing in the image writes" % path)
    groups = set(files.values())
    made = stack_groups(template)
    for g in sorted(groups - made):
        out.append("the agent writes to %s, which the stack does not create" % g)
    for g in sorted(made - groups, key=str):
        out.append("the stack creates %s, which the agent does not write to" % g)
    for item in config["logs"]["logs_collected"]["files"]["collect_list"]:
        if item["log_stream_name"] != "{instance_id}":
            out.append("%s: the stream must be named by the instance id ({instance_id}), "
                       "to find a terminated instance's log" % item["file_path"])
    return out


def main():
    args = sys.argv[1:]
    if len(args) > 2:
        sys.exit(__doc__)
    config_path = args[0] if args else CONFIG
    stack_path = args[1] if len(args) > 1 else STACK
    try:
        with open(config_path) as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        print("%s: not readable JSON: %s" % (config_path, e))
        return 1
    with open(stack_path) as f:
        template = yaml.load(f, Loader=Loader)
    found = problems(config, template)
    for p in found:
        print("%s: %s" % (config_path, p))
    if not found:
        print("%s: agent config ok (%d files, groups %s)" % (
            config_path, len(collected(config)), ", ".join(sorted(collected(config).values()))))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
