"""ipvs_config's planner: only what differs is changed."""
from __future__ import annotations

from ansible_collections.lvs.cluster.plugins.modules.ipvs_config import plan_config

LIVE_TIMEOUTS = {"tcp": 900, "tcpfin": 120, "udp": 300}
MASTER = {"role": "master", "interface": "eth2", "syncid": 5, "maxlen": 1472, "group": "224.0.0.81", "port": 8848,
          "ttl": 1}


def want(role: str, **settings) -> dict:
    base = {"role": role, "state": "present", "interface": None, "syncid": 0, "maxlen": None, "group": None,
            "port": None, "ttl": None}
    return {**base, **settings}


def test_only_given_timeouts_that_differ_are_set() -> None:
    commands, after, _daemons = plan_config(LIVE_TIMEOUTS, [], {"tcp": 3600, "tcpfin": 120, "udp": None}, [])
    assert commands == [["--set", "3600", "0", "0"]]
    assert after == {"tcp": 3600, "tcpfin": 120, "udp": 300}
    assert plan_config(LIVE_TIMEOUTS, [], {"tcp": 900, "tcpfin": None, "udp": None}, [])[0] == []


def test_running_daemon_with_matching_settings_is_left_alone() -> None:
    assert plan_config(LIVE_TIMEOUTS, [MASTER], None, [want("master", interface="eth2", syncid=5)])[0] == []


def test_daemon_with_other_settings_is_restarted() -> None:
    commands, _after, daemons = plan_config(LIVE_TIMEOUTS, [MASTER], None,
                                            [want("master", interface="eth2", syncid=6, ttl=2)])
    assert commands == [["--stop-daemon", "master"],
                        ["--start-daemon", "master", "--mcast-interface", "eth2", "--syncid", "6", "--mcast-ttl", "2"]]
    assert daemons[0]["syncid"] == 6


def test_absent_daemon_is_stopped_only_if_running() -> None:
    assert plan_config(LIVE_TIMEOUTS, [MASTER], None, [want("master", state="absent")])[0] == [["--stop-daemon", "master"]]
    assert plan_config(LIVE_TIMEOUTS, [], None, [want("backup", state="absent")])[0] == []
