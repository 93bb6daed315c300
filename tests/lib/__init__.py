"""The tests' helpers, one package: tests/pyrun.py puts tests/ on the
path, so a test imports `from lib.localstack import Stack`.

    proc        processes: run, /proc scans, wait_until, wait_gone
    dbsession   counting the database's sessions
    localstack  the local stack (MariaDB, fcgi-app, nginx) and its instances
    cluster     make cluster's HAProxy and two instances
    page        the table page, parsed
    rawhttp     a raw HTTP/1.x client for hostile requests
    fcgi        a FastCGI client: records, requests, management records,
                the records read back
    frontend    Apache, lighttpd, Caddy, h2o or nginx in front of a socket
    imds        the IMDSv2 stand-in
    tls         a CA and server certificates of our own
"""
import os

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(TOP, "scripts")
