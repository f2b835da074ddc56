"""vrrp_advert_terms: what each VRRP instance of a keepalived.conf needs its peers' adverts to match."""
from __future__ import annotations

import pytest

from ansible_collections.lvs.cluster.plugins.filter.keepalived_conf import vrrp_advert_terms

# The shape the director role renders, with a comment, nested blocks, an excluded block and a virtual server.
CONF = """\
! Managed by lvs.cluster
global_defs {
    router_id director1
    vrrp_higher_prio_send_advert true
}

vrrp_instance VI_eth1_4_director1 {
    state MASTER
    interface eth1
    virtual_router_id 50
    priority 150
    advert_int 1
    version 2
    authentication {
        include /etc/keepalived/secrets/vrrp_auth.conf
    }
    unicast_peer {
        198.18.9.12
    }
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
    virtual_router_id 50
    advert_int 0.1
    version 3
    virtual_ipaddress {
        2001:db8:1::50/128 dev eth1
    }
}

virtual_server 198.18.9.50 80 {
    delay_loop 2
    real_server 198.18.9.21 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
"""


def test_each_instance_lists_its_terms() -> None:
    assert vrrp_advert_terms(CONF) == {
        "VI_eth1_4_director1": {"addresses": ["198.18.9.50/32", "198.18.9.51/32"], "version": "2",
                                "virtual_router_id": "50", "advert_int": "1",
                                "authentication": ["include /etc/keepalived/secrets/vrrp_auth.conf"]},
        # Version 3 takes the master's advert interval, so it is not a term.
        "VI_eth1_6_director1": {"addresses": ["2001:db8:1::50/128"], "version": "3", "virtual_router_id": "50",
                                "advert_int": None, "authentication": []},
    }


@pytest.mark.parametrize("edit", [
    pytest.param(("        198.18.9.51/32 dev eth1 label eth1:web2   # the second VIP\n", ""), id="address removed"),
    pytest.param(("    version 2\n", "    version 3\n"), id="version 2 to 3"),
    pytest.param(("    virtual_router_id 50\n    priority", "    virtual_router_id 60\n    priority"), id="router id"),
    pytest.param(("    advert_int 1\n", "    advert_int 2\n"), id="version 2 advert interval"),
    pytest.param(("    authentication {\n        include /etc/keepalived/secrets/vrrp_auth.conf\n    }\n", ""),
                 id="authentication dropped"),
])
def test_a_term_that_makes_keepalived_drop_adverts_makes_the_answers_differ(edit: tuple[str, str]) -> None:
    assert edit[0] in CONF
    assert vrrp_advert_terms(CONF.replace(*edit)) != vrrp_advert_terms(CONF)


def test_an_instance_added_or_removed_makes_them_differ() -> None:
    without_v6 = CONF.partition("vrrp_instance VI_eth1_6_director1")[0] + CONF.partition("\n\nvirtual_server")[2]
    assert vrrp_advert_terms(without_v6) != vrrp_advert_terms(CONF)


def test_what_adverts_do_not_carry_does_not() -> None:
    edited = (CONF.replace("weight 1", "weight 2").replace("198.18.9.99/32", "198.18.9.98/32")
              .replace("priority 150", "priority 140").replace("advert_int 0.1", "advert_int 1")
              .replace("connect_timeout 3", "connect_timeout 2").replace("        198.18.9.12\n", "        198.18.9.13\n"))
    assert vrrp_advert_terms(edited) == vrrp_advert_terms(CONF)


def test_no_instance_an_unclosed_block_and_a_stray_brace() -> None:
    assert vrrp_advert_terms("global_defs {\n}\n") == {}
    with pytest.raises(ValueError, match="virtual_ipaddress block of VI_eth1_6_director1 is not closed"):
        vrrp_advert_terms(CONF.partition("    }\n}\n\nvirtual_server")[0])
    with pytest.raises(ValueError, match="line 3 closes a block that was never opened"):
        vrrp_advert_terms("global_defs {\n}\n}\n")
