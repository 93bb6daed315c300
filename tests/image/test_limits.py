"""The image's connection limits agree with each other, offline: the
FastCGI connections nginx opens (its idle kept ones, keepalive x nginx
workers, plus the requests in flight) stay below what the program holds
(workers x connections), as the sum written beside the numbers in
nginx/fcgi-app.conf says, with that sum's figures the files' own; and
the unit gives a worker the descriptors its connections take."""
import os
import re
import unittest

from lib import TOP

SITE = os.path.join(TOP, "nginx", "fcgi-app.conf")
NGINX_CONF = os.path.join(TOP, "packer", "files", "nginx.conf")
UNIT = os.path.join(TOP, "packer", "files", "fcgi-app.service")
CONFIG_C = os.path.join(TOP, "fcgi-app", "config.c")


def read(path):
    with open(path) as f:
        return f.read()


def directives(text, name):
    """The values of an nginx directive, comments left out."""
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    return re.findall(r"(?:^|[\s{;])%s\s+([^;]+);" % re.escape(name), code)


def program_default(name):
    """A setting's default in config_defaults (fcgi-app/config.c)."""
    body = read(CONFIG_C).split("config_defaults(struct config *cfg)", 1)[1].split("\n}\n", 1)[0]
    found = re.findall(r"cfg->%s = (\d+);" % name, body)
    if len(found) != 1:
        raise AssertionError("config_defaults sets %s %d times" % (name, len(found)))
    return int(found[0])


def the_sum():
    """The sum in the site's comment: (keepalive, nginx workers, clients,
    total, program workers, connections), the numbers as written."""
    m = re.search(r"^#\s+(\d+) x (\d+) \+ ([\d,]+) = ([\d,]+) < (\d+) x ([\d,]+)\s*$",
                  read(SITE), re.M)
    if m is None:
        raise AssertionError("nginx/fcgi-app.conf has no line 'K x W + N = S < P x C'")
    return tuple(int(g.replace(",", "")) for g in m.groups())


class Limits(unittest.TestCase):
    def test_the_sum_holds_with_the_files_numbers(self):
        keepalive, nginx_workers, clients, total, workers, conns = the_sum()
        site = read(SITE)
        upstream = re.search(r"^upstream fcgi_app \{(.*?)^\}", site, re.M | re.S).group(1)
        self.assertEqual(directives(upstream, "keepalive"), [str(keepalive)])
        # one nginx worker and one program worker per vCPU: the sum is
        # per vCPU, written for the reference one-vCPU instance
        self.assertEqual(directives(read(NGINX_CONF), "worker_processes"), ["auto"])
        self.assertEqual(program_default("workers"), 0)
        self.assertEqual((nginx_workers, workers), (1, 1))
        self.assertEqual(program_default("connections"), conns)
        self.assertEqual(keepalive * nginx_workers + clients, total)
        self.assertLess(total, workers * conns)
        # the clients nginx.conf is sized for, two connections each
        self.assertIn("%s kept\n\t# clients all waiting on a page take up to %s;"
                      % (format(clients, ","), format(2 * clients + keepalive, ",")),
                      read(NGINX_CONF))
        # and nginx has the connections for them
        wc = int(directives(read(NGINX_CONF), "worker_connections")[0])
        self.assertGreater(wc, 2 * clients + keepalive)

    def test_the_unit_gives_a_worker_its_descriptors(self):
        """connections, all of db-connections (one worker on one CPU
        keeps them all) and the few of its own that conn_limit sets aside
        (fcgi-app/worker.c: 16)."""
        limits = re.findall(r"^LimitNOFILE=(\d+)$", read(UNIT), re.M)
        self.assertEqual(len(limits), 1, limits)
        need = program_default("connections") + program_default("db_connections") + 16
        self.assertGreaterEqual(int(limits[0]), need)
        # the listen backlog takes the clients nginx.conf is sized for
        self.assertRegex(read(UNIT), r"(?m)^ExecStart=/usr/bin/spawn-fcgi .*-b 4096 ")


if __name__ == "__main__":
    unittest.main()
