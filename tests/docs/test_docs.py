"""The docs' links and commands: every file the README, docs/ and the man
page link to or name exists, every heading a link points at exists, and
every `make` target they name is a target of the Makefile."""
import os
import re
import subprocess
import unittest

from lib import TOP

# a path in the repository, as the docs write it in backticks or commands
TOPDIRS = ("bench", "docs", "fcgi-app", "man", "nginx", "packer", "scripts",
           "sql", "stack", "tests")
PATH_RE = re.compile(r"(?<![\w./-])((?:%s)/[\w./-]*[\w-])" % "|".join(TOPDIRS))
LINK_RE = re.compile(r"\]\(([^)\s]+)\)")
MAKE_RE = re.compile(r"\bmake((?:\s+-\w+)*(?:\s+[A-Z_]+=\S+)*)((?:\s+[a-z][a-z0-9-]*)+)")
# words after "make" in prose that are not targets
PROSE = {"the", "a", "it", "and", "or", "to", "of", "is", "on", "in", "runs",
         "starts", "target", "targets", "checks", "builds", "writes", "sure",
         "with", "stays", "again", "first", "once", "does", "test's"}


def doc_files():
    files = [os.path.join(TOP, "README.md"), os.path.join(TOP, "man", "fcgi-app.8")]
    docs = os.path.join(TOP, "docs")
    files += sorted(os.path.join(docs, f) for f in os.listdir(docs) if f.endswith(".md"))
    return files


def git_files():
    out = subprocess.run(["git", "-C", TOP, "ls-files"], capture_output=True,
                         text=True, check=True).stdout
    return set(out.split())


def make_targets():
    with open(os.path.join(TOP, "Makefile")) as f:
        text = f.read()
    return set(re.findall(r"^([a-z][a-z0-9-]*)\s*:(?!=)", text, re.M))


def anchors(path):
    """GitHub's anchors for a Markdown file's headings."""
    out = set()
    with open(path) as f:
        for line in f:
            m = re.match(r"#+\s+(.*)", line)
            if m and not line.startswith("#!"):
                a = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
                out.add(a.replace(" ", "-"))
    return out


class Docs(unittest.TestCase):
    def setUp(self):
        self.files = doc_files()
        self.tracked = git_files()

    def test_links_resolve(self):
        bad = []
        for path in self.files:
            if not path.endswith(".md"):
                continue
            with open(path) as f:
                text = f.read()
            for target in LINK_RE.findall(text):
                if re.match(r"[a-z]+:", target):
                    continue  # an external URL: nothing here may reach it
                name, _, anchor = target.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(path), name)) \
                    if name else path
                rel = os.path.relpath(dest, TOP)
                if not os.path.exists(dest):
                    bad.append("%s: link to a missing file %s" % (os.path.relpath(path, TOP), target))
                elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
                    bad.append("%s: link to a missing heading %s" % (os.path.relpath(path, TOP), target))
                elif os.path.isfile(dest) and rel not in self.tracked:
                    bad.append("%s: links to %s, which is not in git" % (os.path.relpath(path, TOP), rel))
        self.assertEqual(bad, [])

    def test_named_files_exist(self):
        bad = []
        for path in self.files:
            with open(path) as f:
                text = f.read()
            for name in PATH_RE.findall(text):
                name = name.rstrip(".")
                full = os.path.join(TOP, name)
                if "*" in name or "<" in name:
                    continue
                if not os.path.exists(full) and not any(t.startswith(name.rstrip("/") + "/")
                                                        for t in self.tracked):
                    bad.append("%s names %s, which does not exist"
                               % (os.path.relpath(path, TOP), name))
        self.assertEqual(bad, [])

    def test_make_targets_exist(self):
        targets = make_targets()
        self.assertIn("dev", targets)
        bad = []
        for path in self.files:
            with open(path) as f:
                text = f.read().replace("\\-", "-").replace("\\fB", "").replace("\\fR", "")
            for _, words in MAKE_RE.findall(text):
                word = words.split()[0]
                if word in PROSE:
                    continue
                if word not in targets:
                    bad.append("%s: make %s is not a target" % (os.path.relpath(path, TOP), word))
        self.assertEqual(bad, [])

    def test_readme_is_a_front_door(self):
        with open(os.path.join(TOP, "README.md")) as f:
            lines = f.read().split("\n")
        self.assertLess(len(lines), 120, "the README is a front door; details go to docs/")
        text = "\n".join(lines)
        for cmd in ("make dev", "make test"):
            self.assertIn(cmd, text)

    def test_man_page_formats_cleanly(self):
        p = subprocess.run(["man", "--warnings", "-l", os.path.join(TOP, "man", "fcgi-app.8")],
                           capture_output=True, text=True, env=dict(os.environ, MANWIDTH="80"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.strip(), "", "groff warns about the man page")
        self.assertIn("EXIT STATUS", p.stdout)


if __name__ == "__main__":
    unittest.main()
