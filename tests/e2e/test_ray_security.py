"""The embedded Ray runs no dashboard and no job API, and requires its auth token."""

import pytest
import ray

pytestmark = pytest.mark.e2e


def listening_ports() -> set[int]:
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A":  # LISTEN
                ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


def test_no_dashboard_or_job_api(ray_session):
    ctx = ray.get_runtime_context()
    assert ray.is_initialized() and ctx.gcs_address
    assert ray._private.worker.global_worker.node.address_info.get("webui_url") in (None, "")
    assert 8265 not in listening_ports()  # dashboard / job submission API
