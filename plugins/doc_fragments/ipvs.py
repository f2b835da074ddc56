# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # What every ipvs_* module needs and how it behaves.
    DOCUMENTATION = r"""
options: {}
requirements:
  - The C(ipvsadm) command on the managed host.
  - A kernel with IPVS (the C(ip_vs) module loaded, and the scheduler modules used).
notes:
  - The module reads the live table once (C(ipvsadm -S -n) and C(ipvsadm -L -n --thresholds)),
    plans the changes as a pure function, and applies them in one C(ipvsadm -R) batch, then reads
    the table again and fails, naming the commands, if any change did not take effect.
  - Check mode stops after planning. With C(--diff) the module shows the affected part of the table
    before and after, in C(ipvsadm -S) syntax.
  - Services the module was not asked about are never touched.
  - Where keepalived manages a virtual service, keepalived's view wins on its next reload or health
    check; the module warns when it finds such a service in a running keepalived's configuration.
    Change those services in C(keepalived.conf) instead (the lvs.cluster roles drain through it).
"""

    # The options that identify a virtual service.
    SERVICE_KEY = r"""
options:
  protocol:
    description:
      - Transport protocol of an address-and-port service. Ignored for O(fwmark) services.
    type: str
    choices: [tcp, udp, sctp]
    default: tcp
  address:
    description:
      - Virtual IP address (IPv4 or IPv6) of the service. Required unless O(fwmark) is given.
    type: str
  port:
    description:
      - Virtual port, 1-65535. Required unless O(fwmark) is given; a fwmark service has no port.
    type: int
  fwmark:
    description:
      - Firewall mark that selects the service's traffic, instead of O(address) and O(port).
    type: int
  family:
    description:
      - Address family of a O(fwmark) service. Address services take it from O(address).
      - Defaults to V(ipv4) for fwmark services.
    type: str
    choices: [ipv4, ipv6]
"""

    # How a virtual service schedules and persists.
    SERVICE_SETTINGS = r"""
options:
  scheduler:
    description:
      - Scheduling algorithm (the kernel module C(ip_vs_<scheduler>) must be available).
    type: str
    choices: [rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh]
    default: wlc
  scheduler_flags:
    description:
      - Flags of the C(sh) and C(mh) schedulers, each named after its scheduler.
    type: list
    elements: str
    choices: [sh-fallback, sh-port, mh-fallback, mh-port]
    default: []
  persistent:
    description:
      - Persistence timeout in seconds; V(0) turns persistence off.
    type: int
    default: 0
  netmask:
    description:
      - Persistence granularity, with O(persistent) only. A dotted netmask such as V(255.255.255.0)
        for IPv4, a prefix length such as V(64) for IPv6. Defaults to a single client address.
    type: str
  pe:
    description:
      - Persistence engine, with O(persistent) only.
    type: str
    choices: [sip]
  ops:
    description:
      - One-packet scheduling for UDP services, where each datagram is scheduled on its own.
    type: bool
    default: false
"""
