"""file_differs: a file as ansible.builtin.find lists it, against what a task would write."""
from __future__ import annotations

import hashlib

from ansible_collections.lvs.cluster.plugins.filter.file_state import file_differs

CONTENT = "global_defs {\n    router_id director1\n}\n"
PATH = "/etc/keepalived/keepalived.conf"


def listed(content: str = CONTENT, mode: str = "0644", owner: str = "root", group: str = "root") -> list[dict]:
    # The keys and formats ansible.builtin.find returns with get_checksum: true.
    return [{"path": "/etc/keepalived/other.conf", "checksum": "0" * 40, "mode": "0644", "pw_name": "root", "gr_name": "root"},
            {"path": PATH, "checksum": hashlib.sha1(content.encode()).hexdigest(), "mode": mode,
             "pw_name": owner, "gr_name": group}]


def test_the_same_file_does_not_differ() -> None:
    assert file_differs(listed(), PATH, CONTENT, "0644") is False


def test_content_mode_owner_and_group_each_make_it_differ() -> None:
    assert file_differs(listed(content=CONTENT + "\n"), PATH, CONTENT, "0644") is True
    assert file_differs(listed(mode="0600"), PATH, CONTENT, "0644") is True
    assert file_differs(listed(owner="keepalived_script"), PATH, CONTENT, "0644") is True
    assert file_differs(listed(group="adm"), PATH, CONTENT, "0644") is True


def test_a_missing_file_or_one_listed_without_checksum_differs() -> None:
    assert file_differs([], PATH, CONTENT, "0644") is True
    without_checksum = [{key: value for key, value in entry.items() if key != "checksum"} for entry in listed()]
    assert file_differs(without_checksum, PATH, CONTENT, "0644") is True


def test_non_ascii_content_is_compared_as_utf8() -> None:
    content = "# Zürich\n"
    assert file_differs(listed(content=content), PATH, content, "0644") is False
