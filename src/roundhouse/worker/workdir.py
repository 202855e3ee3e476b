"""The worker's work directory, which holds a directory per job: made before the first job,
and marked so that ext2/3/4 place each job's files in a block group of their own.
"""

from __future__ import annotations

import array
import fcntl
import os
from pathlib import Path

# From <linux/fs.h>: _IOR('f', 1, long), _IOW('f', 2, long); the kernel reads an int.
FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_TOPDIR_FL = 0x00020000  # `chattr +T`


def prepare(path: Path) -> None:
    """Make the work directory if it is missing, and mark it as a top directory.

    A directory that cannot be made is left to the jobs: each says so in its log, and
    `roundhouse doctor` names the setting; the worker still starts and heart-beats.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    mark_top_directory(path)


def mark_top_directory(path: Path) -> bool:
    """Set the TOPDIR flag, as /home has: directories made in `path` are spread over the
    filesystem's block groups instead of crowding into the group of `path`.

    Why it matters: ext4 without a journal (common on virtual machines) does not reuse an inode
    deleted in the last minute, and finds a free one by checking the deleted ones one by one.
    Jobs make and delete hundreds of files a second; crowded into one group, that made each new
    file cost up to a third of a millisecond, most of a small job's CPU time. Filesystems without
    the flag refuse it (False), and nothing else changes.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        flags = array.array("i", [0])
        fcntl.ioctl(descriptor, FS_IOC_GETFLAGS, flags, True)
        if not flags[0] & FS_TOPDIR_FL:
            flags[0] |= FS_TOPDIR_FL
            fcntl.ioctl(descriptor, FS_IOC_SETFLAGS, flags, True)
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)
