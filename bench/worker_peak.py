"""The peak RSS of this process alone, for the benches' worker processes.

`getrusage(RUSAGE_CHILDREN)` in the parent (and even `RUSAGE_SELF` in the child) is not it: at
exec Linux carries the forking parent's high-water mark over into the child's `maxrss`, so a
worker started by a bench that holds an sfemu full of records reported the bench's memory, not
its own (issue 21's 807 MB "worker" peak was the parent's). VmHWM belongs to the exec'd image.
"""

from pathlib import Path


def peak_rss_kb() -> int:
    """VmHWM of this process, in kB (0 where /proc is not there)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
