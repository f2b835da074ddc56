"""The planner: a pure function from (live table, desired services) to ipvsadm -R lines."""
from __future__ import annotations

from dataclasses import replace

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    Destination,
    Service,
    ServiceKey,
    parse_save,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import failed_operations, plan_table

WEB = ServiceKey.make(address="198.18.1.50", port=80)
WEB6 = ServiceKey.make(address="2001:db8:1::50", port=80)
MARK = ServiceKey(protocol="fwmark", fwmark=7)
LIVE = """\
-A -t 198.18.1.50:80 -s wrr
-a -t 198.18.1.50:80 -r 198.18.2.21:80 -g -w 1
-a -t 198.18.1.50:80 -r 198.18.2.22:80 -g -w 2
-A -t [2001:db8:1::50]:80 -s rr
-a -t [2001:db8:1::50]:80 -r [2001:db8:2::21]:80 -g -w 1
-A -f 7 -s lc
-a -f 7 -r 198.18.2.21:0 -g -w 3
"""


def live() -> list[Service]:
    services, unknown = parse_save(LIVE)
    assert unknown == []
    return services


def web(**changes) -> Service:
    base = Service(key=WEB, scheduler="wrr", destinations=(
        Destination("198.18.2.21", 80, "dr", 1), Destination("198.18.2.22", 80, "dr", 2)))
    return replace(base, **changes)


def test_matching_table_plans_nothing() -> None:
    plan = plan_table(live(), [web()], scope=lambda key: key == WEB, purge_destinations=True)
    assert plan.lines == []
    assert not plan.changed


def test_new_service_with_destinations() -> None:
    new = Service(key=ServiceKey.make(protocol="udp", address="198.18.1.50", port=9999), scheduler="rr", ops=True,
                  destinations=(Destination("198.18.2.21", 9999, "nat", 1),))
    plan = plan_table(live(), [new], scope=lambda key: key == new.key)
    assert plan.lines == ["-A -u 198.18.1.50:9999 -s rr -o", "-a -u 198.18.1.50:9999 -r 198.18.2.21:9999 -m -w 1"]
    assert plan.diff("x")["before"] == ""
    assert plan.diff("x")["after"].splitlines() == plan.lines


def test_scheduler_flags_and_persistence_edit_the_service_in_place() -> None:
    plan = plan_table(live(), [web(scheduler="sh", scheduler_flags=("sh-port",), persistent=300,
                                   netmask="255.255.255.0")], scope=lambda key: key == WEB)
    assert plan.lines == ["-E -t 198.18.1.50:80 -s sh -b sh-port -p 300 -M 255.255.255.0"]


def test_default_persistence_granularity_is_no_change() -> None:
    current = parse_save("-A -t 198.18.1.50:80 -s wrr -p 300\n")[0]
    desired = [Service(key=WEB, scheduler="wrr", persistent=300, netmask="255.255.255.255")]
    assert plan_table(current, desired).lines == []
    current6 = parse_save("-A -t [2001:db8:1::50]:80 -s rr -p 60\n")[0]
    assert plan_table(current6, [Service(key=WEB6, scheduler="rr", persistent=60, netmask="128")]).lines == []


def test_weight_change_including_zero() -> None:
    plan = plan_table(live(), [web(destinations=(Destination("198.18.2.21", 80, "dr", 0),
                                                 Destination("198.18.2.22", 80, "dr", 2)))])
    assert plan.lines == ["-e -t 198.18.1.50:80 -r 198.18.2.21:80 -g -w 0"]


def test_forwarding_and_tunnel_changes_edit_the_destination() -> None:
    plan = plan_table(live(), [web(destinations=(
        Destination("198.18.2.21", 80, "tun", 1, tun_type="gue", tun_port=6080, tun_checksum="remcsum"),
        Destination("198.18.2.22", 80, "tun", 2, tun_type="ipip")))])
    assert plan.lines == [
        "-e -t 198.18.1.50:80 -r 198.18.2.21:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum",
        "-e -t 198.18.1.50:80 -r 198.18.2.22:80 -i -w 2",
    ]


def test_thresholds_are_compared() -> None:
    plan = plan_table(live(), [web(destinations=(Destination("198.18.2.21", 80, "dr", 1, 100, 50),
                                                 Destination("198.18.2.22", 80, "dr", 2)))])
    assert plan.lines == ["-e -t 198.18.1.50:80 -r 198.18.2.21:80 -g -w 1 -x 100 -y 50"]


def test_purge_of_destinations_only_when_asked() -> None:
    only_one = web(destinations=(Destination("198.18.2.21", 80, "dr", 1),))
    assert plan_table(live(), [only_one]).lines == []
    assert plan_table(live(), [only_one], purge_destinations=True).lines == ["-d -t 198.18.1.50:80 -r 198.18.2.22:80"]


def test_purge_of_services_stays_inside_the_scope() -> None:
    plan = plan_table(live(), [], scope=lambda key: key.family == "ipv6", purge_services=True)
    assert plan.lines == ["-D -t [2001:db8:1::50]:80"]
    assert [s.key for s in plan.after] == []
    everything = plan_table(live(), [], purge_services=True)
    assert sorted(everything.lines) == sorted(["-D -f 7", "-D -t 198.18.1.50:80", "-D -t [2001:db8:1::50]:80"])


def test_ipv6_and_fwmark_services() -> None:
    desired6 = Service(key=WEB6, scheduler="rr", destinations=(Destination("2001:db8:2::21", 80, "dr", 5),))
    assert plan_table(live(), [desired6]).lines == ["-e -t [2001:db8:1::50]:80 -r [2001:db8:2::21]:80 -g -w 5"]
    mark6 = Service(key=ServiceKey(protocol="fwmark", fwmark=8, family="ipv6"), scheduler="rr", persistent=30,
                    netmask="64", destinations=(Destination("2001:db8:2::21", 0, "dr", 1),))
    assert plan_table(live(), [mark6]).lines == [
        "-A -f 8 -6 -s rr -p 30 -M 64", "-a -f 8 -6 -r [2001:db8:2::21]:0 -g -w 1"]
    assert plan_table(live(), [Service(key=MARK, scheduler="lc", destinations=(
        Destination("198.18.2.21", 0, "dr", 3),))]).lines == []


def test_failed_operations_are_those_the_table_does_not_show() -> None:
    plan = plan_table(live(), [web(scheduler="rr"), Service(key=ServiceKey.make(address="198.18.1.60", port=80))])
    failed = [op.line for op in failed_operations(plan, live())]
    assert failed == ["-E -t 198.18.1.50:80 -s rr", "-A -t 198.18.1.60:80 -s wlc"]
    applied = [replace(s, scheduler="rr") if s.key == WEB else s for s in live()]
    applied.append(Service(key=ServiceKey.make(address="198.18.1.60", port=80)))
    assert failed_operations(plan, applied) == []


def test_drain_plan_sets_weight_zero_then_removes() -> None:
    current = live()
    drained = web(destinations=(Destination("198.18.2.21", 80, "dr", 0), Destination("198.18.2.22", 80, "dr", 2)))
    assert plan_table(current, [drained]).lines == ["-e -t 198.18.1.50:80 -r 198.18.2.21:80 -g -w 0"]
    removed = web(destinations=(Destination("198.18.2.22", 80, "dr", 2),))
    assert plan_table(current, [removed], purge_destinations=True).lines == ["-d -t 198.18.1.50:80 -r 198.18.2.21:80"]
