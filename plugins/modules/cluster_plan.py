#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_plan
short_description: The plan of the whole LVS cluster, computed on the controller once per playbook run
version_added: 0.1.0
description:
  - Derives the cluster's plan from the inventory with the P(lvs.cluster.cluster_model#filter) filter, which gives the VRRP
    instances, sync groups and virtual servers keepalived needs, what each real server sets up, and every
    problem found, each naming the variable path and what is allowed. Nothing is contacted.
  - Fails when the inventory has any problem, listing every one, so that no host is changed on a plan with
    mistakes.
  - The virtual services and the director settings are those the asking director sees, play variables and
    role parameters included, as its templates see them. Asked from any other host (the controller's check,
    a real server), they are the first director's in the inventory (host and group variables, extra vars),
    else the director role's defaults. The model refuses a cluster-wide setting that two directors'
    inventories give otherwise. So in a run without play variables every play gets the same plan.
  - Computed once per run for the same inputs, and reused by every later task, play and serial batch that
    asks; a change during the run (drain.yml marks a real server drained, a play sets a director variable)
    gives a new plan.
    The plans are kept in the run's own temporary directory on the controller (C(ANSIBLE_LOCAL_TEMP)),
    which Ansible removes when the run ends.
  - Run by the roles (C(lvs.cluster.director)'s and C(lvs.cluster.realserver)'s first task); a playbook has
    no need to call it.
author:
  - lvs.cluster contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
options:
  directors_group:
    description: The inventory group of the directors.
    type: str
    default: lvs_directors
  services:
    description:
      - The virtual services the asking real server sees (the realserver role's C(realserver_virtual_services)).
        Where they are not the directors' services, the plan lists an error, since a real server would set up
        another cluster than the directors serve.
    type: list
    elements: dict
  realservers_group:
    description:
      - The real servers' group as the asking role names it; an error where the directors'
        C(director_realservers_group) names another.
    type: str
"""

EXAMPLES = r"""
- name: Plan the cluster, once per run (a mistake in the inventory fails here, naming each)
  lvs.cluster.cluster_plan:
    directors_group: lvs_directors
  register: lvs_plan
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
plan:
  description: The model, as the P(lvs.cluster.cluster_model#filter) filter returns it (its C(errors) empty).
  returned: success
  type: dict
errors:
  description: Every problem in the inventory, each starting with the variable path; C(msg) joins them.
  returned: failure
  type: list
  elements: str
computed:
  description: Whether this task computed the plan (true) or reused one computed earlier in this run from the same inputs (false).
  returned: always
  type: bool
"""
