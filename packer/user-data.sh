#!/bin/bash
# Launch template user data: runs once at first boot, as root.  It reads
# the database settings from SSM Parameter Store with the instance role,
# writes /etc/fcgi-app/fcgi-app.cnf (0600, owned by fcgi-app) and starts
# the service.  Any failure is printed to the console log and fails boot
# configuration loudly.  The stack substitutes the parameter path.
exec /usr/local/sbin/fcgi-app-configure --ssm-path "/fcgi-app/"
