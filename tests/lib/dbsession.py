"""The database's sessions, counted from information_schema.PROCESSLIST."""
from .proc import wait_until


def count(stack, user=None, state=None):
    """How many sessions there are, of user (exact) in state (LIKE)."""
    where = []
    if user is not None:
        where.append("USER = '%s'" % user)
    if state is not None:
        where.append("STATE LIKE '%s'" % state)
    out = stack.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST%s;" % (
        " WHERE " + " AND ".join(where) if where else ""))
    return int(out.split("\n")[1])


def wait_for(stack, seconds=10, **kw):
    """True once at least one session matches (see count) within seconds."""
    return bool(wait_until(lambda: count(stack, **kw) > 0, seconds))



def ids(stack, user):
    """The ids of user's sessions."""
    out = stack.sql("SELECT ID FROM information_schema.PROCESSLIST "
                    "WHERE USER = '%s';" % user)
    return [int(x) for x in out.split("\n")[1:-1]]


def kill(stack, user, sessions, seconds=10):
    """KILL CONNECTION for each of user's sessions given; True once none
    of them is left, within seconds."""
    stack.sql("".join("KILL CONNECTION %d;" % s for s in sessions))
    return bool(wait_until(lambda: not set(sessions) & set(ids(stack, user)), seconds))
