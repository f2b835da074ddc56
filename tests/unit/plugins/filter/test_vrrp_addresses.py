"""vrrp_addresses: the addresses each VRRP instance of a keepalived.conf advertises."""
from __future__ import annotations

import pytest

from ansible_collections.lvs.cluster.plugins.filter.keepalived_conf import vrrp_addresses

# The shape the director role renders, with a comment, an excluded block and a virtual server.
CONF = """\
! Managed by lvs.cluster
global_defs {
    router_id director1
}

vrrp_instance VI_eth1_4_director1 {
    state MASTER
    track_file {
        lvs_standby
    }
    virtual_ipaddress {
        198.18.9.50/32 dev eth1
        198.18.9.51/32 dev eth1 label eth1:web2   # the second VIP
    }
    virtual_ipaddress_excluded {
        198.18.9.99/32 dev eth1
    }
}

vrrp_instance VI_eth1_6_director1 {
    virtual_ipaddress {
        2001:db8:1::50/128 dev eth1
    }
}

virtual_server 198.18.9.50 80 {
    real_server 198.18.9.21 80 {
        weight 1
    }
}
"""


def test_each_instance_lists_its_advertised_addresses_in_order() -> None:
    assert vrrp_addresses(CONF) == {"VI_eth1_4_director1": ["198.18.9.50/32", "198.18.9.51/32"],
                                    "VI_eth1_6_director1": ["2001:db8:1::50/128"]}


def test_an_added_address_or_instance_makes_the_answers_differ() -> None:
    one_vip = CONF.replace("        198.18.9.51/32 dev eth1 label eth1:web2   # the second VIP\n", "")
    assert vrrp_addresses(one_vip) != vrrp_addresses(CONF)
    without_v6 = CONF.partition("vrrp_instance VI_eth1_6_director1")[0]
    assert vrrp_addresses(without_v6) != vrrp_addresses(CONF)


def test_changes_outside_the_advertised_addresses_do_not() -> None:
    edited = CONF.replace("weight 1", "weight 2").replace("198.18.9.99/32", "198.18.9.98/32")
    assert vrrp_addresses(edited) == vrrp_addresses(CONF)


def test_no_instance_and_an_unclosed_block() -> None:
    assert vrrp_addresses("global_defs {\n}\n") == {}
    with pytest.raises(ValueError, match="VI_eth1_6_director1 is not closed"):
        vrrp_addresses(CONF.partition("    }\n}\n\nvirtual_server")[0])
