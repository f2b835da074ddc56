"""Helpers shared by the unit tests."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

import pytest


@pytest.fixture
def touch_when() -> Callable[[Path, Callable[[], bool]], None]:
    """Touches a stop file once a condition holds (say, a server has answered a few requests) instead of after
    a fixed time: on a loaded machine a probe's interpreter can take longer to start than such a time."""
    def start(stop_file: Path, condition: Callable[[], bool]) -> None:
        def wait_and_touch() -> None:
            while not condition():
                time.sleep(0.01)
            stop_file.touch()
        threading.Thread(target=wait_and_touch, daemon=True).start()
    return start
