import os

import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))


def pytest_collection_modifyitems(config, items):
    # INFOFUSION_SLOW=1 runs the slow tests too (equivalent to -m "slow or not slow").
    if os.environ.get("INFOFUSION_SLOW") == "1":
        for item in items:
            item.add_marker(pytest.mark.run_slow)


def pytest_configure(config):
    config.addinivalue_line("markers", "run_slow: internal")
    if os.environ.get("INFOFUSION_SLOW") == "1":
        config.option.markexpr = ""
