"""Whether an image given for `image` or `backupImage` can run the configured flavor and version.

The server configuration, the SQL and the backup tool's flags are rendered for one flavor and version; an
image of another (`mysql:8.4` with flavor `mariadb`, `mysql:8.0.36` with version `8.4`) starts and then fails
in ways far from the cause. Images are recognised by the last part of their repository name, as the
official ones are named; any other name (a private build) is trusted to match.
"""

from __future__ import annotations

import re

from mysql_cluster.validation import Problems

# Repository names (the last path component) and the flavor their images run.
SERVER_IMAGES = {"mysql": "mysql", "mysql-server": "mysql", "percona-server": "mysql", "mariadb": "mariadb"}
BACKUP_IMAGES = {"percona-xtrabackup": "mysql", "mariadb": "mariadb"}
# A tag that names a release: `8.4`, `8.4.3`, `8.4.3-oracle`, `11.4-ubi`. A major alone (`8`) floats.
_RELEASE_TAG = re.compile(r"^v?(?P<release>[0-9]+\.[0-9]+)(?:[.\-_].*)?$")


def _repository_and_tag(image: str) -> tuple[str, str | None]:
    """`docker.io/library/mysql:8.4@sha256:...` -> ("mysql", "8.4")."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    repository, _, tag = last.partition(":")
    return repository, tag or None


def check_image_matches(
    problems: Problems, key: str, image: str, *, backup: bool, flavor: str, version: str
) -> bool:
    """A problem when `image` is a known image of another flavor, or of another release, than configured."""
    repository, tag = _repository_and_tag(image)
    runs = (BACKUP_IMAGES if backup else SERVER_IMAGES).get(repository)
    release = match["release"] if tag and (match := _RELEASE_TAG.fullmatch(tag)) else None
    if runs is None or (runs == flavor and release in (None, version)):
        return True
    configured = "the configured flavor and version"
    if not (problems.is_secret("flavor") or problems.is_secret("version")):
        configured = f"{flavor} {version}, the configured flavor and version"
    found = f"{runs} {release}" if runs == flavor else runs
    if repository != runs:
        found += f" ({repository})"
    detail = "" if problems.is_secret(key) else f"; this one runs {found}"
    return problems.add(key, image, f"an image of {configured}{detail}")
