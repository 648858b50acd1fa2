"""What a driver carries to cluster workers, and how a long-lived worker takes it (no engine needed: every leg runs these)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import dashscope_private
from dashscope_private import _propagate
from dashscope_private.config import PROPAGATE, load

EP = "http://127.0.0.1:9"


def test_carried_is_the_settings_in_force_unless_off():
    settings = {"DASHSCOPE_PRIVATE_ENDPOINT": EP, "DASHSCOPE_PRIVATE_STRICT": "1", "DASHSCOPE_PRIVATE_LOG": "", "OTHER": "x"}
    assert _propagate.carried(settings) == {"DASHSCOPE_PRIVATE_ENDPOINT": EP, "DASHSCOPE_PRIVATE_STRICT": "1"}
    assert _propagate.carried({**settings, PROPAGATE: "0"}) == {}
    assert _propagate.carried({**settings, PROPAGATE: "off"}) == {}
    assert _propagate.carried({**settings, PROPAGATE: "1"})[PROPAGATE] == "1"
    assert _propagate.carried({**settings, "DASHSCOPE_PRIVATE_DISABLE": "1"}) == {}
    assert _propagate.carried({"DASHSCOPE_PRIVATE_STRICT": "1"}) == {}  # no endpoint: nothing to carry
    # An invalid value is carried: the driver fails closed, and so do its workers.
    assert _propagate.carried({"DASHSCOPE_PRIVATE_ENDPOINT": "ep-*****"}) == {"DASHSCOPE_PRIVATE_ENDPOINT": "ep-*****"}
    assert _propagate.carried({**settings, PROPAGATE: "maybe"})[PROPAGATE] == "maybe"


def test_propagate_is_parsed_like_strict():
    assert load({"DASHSCOPE_PRIVATE_ENDPOINT": EP}).propagate is True
    assert load({"DASHSCOPE_PRIVATE_ENDPOINT": EP, PROPAGATE: " "}).propagate is True
    assert load({"DASHSCOPE_PRIVATE_ENDPOINT": EP, PROPAGATE: "no"}).propagate is False
    with pytest.raises(dashscope_private.ConfigError, match=PROPAGATE):
        load({"DASHSCOPE_PRIVATE_ENDPOINT": EP, PROPAGATE: "maybe"})


def test_missing_from_keeps_what_the_user_set():
    ours = {"DASHSCOPE_PRIVATE_ENDPOINT": EP, "DASHSCOPE_PRIVATE_STRICT": "1"}
    assert _propagate.missing_from(ours, {"DASHSCOPE_PRIVATE_ENDPOINT": "theirs"}, None, {}) == {"DASHSCOPE_PRIVATE_STRICT": "1"}
    assert _propagate.missing_from(ours) == ours


def test_in_force_is_empty_while_inactive_and_follows_later_settings(monkeypatch, standin):
    assert _propagate.in_force() == {}
    dashscope_private.activate(standin.url)
    assert _propagate.in_force() == {"DASHSCOPE_PRIVATE_ENDPOINT": standin.url}
    monkeypatch.setenv("DASHSCOPE_PRIVATE_STRICT", "1")  # set after activation, as load_dotenv() would
    assert _propagate.in_force() == {"DASHSCOPE_PRIVATE_ENDPOINT": standin.url, "DASHSCOPE_PRIVATE_STRICT": "1"}
    monkeypatch.setenv(PROPAGATE, "0")
    assert _propagate.in_force() == {}


def test_adopt_keeps_the_workers_own_and_resets_what_an_earlier_driver_wrote(monkeypatch):
    monkeypatch.setattr(_propagate, "_adopted", {})
    environ = {"DASHSCOPE_PRIVATE_HOSTS": "dashscope.aliyuncs.com"}  # the worker's own (its deployment)
    first = {"DASHSCOPE_PRIVATE_ENDPOINT": "http://a", "DASHSCOPE_PRIVATE_STRICT": "1", "DASHSCOPE_PRIVATE_HOSTS": "x.example"}
    assert _propagate.adopt(first, environ) == {"DASHSCOPE_PRIVATE_STRICT": "1", "DASHSCOPE_PRIVATE_ENDPOINT": "http://a"}
    assert list(_propagate.adopt(first, environ)) == []  # the same settings again: no write, no re-configuration
    written = _propagate.adopt({"DASHSCOPE_PRIVATE_ENDPOINT": "http://b"}, environ)
    assert written == {"DASHSCOPE_PRIVATE_STRICT": "", "DASHSCOPE_PRIVATE_ENDPOINT": "http://b"}
    assert list(written)[-1] == "DASHSCOPE_PRIVATE_ENDPOINT"  # last: that write re-reads the complete configuration
    assert environ["DASHSCOPE_PRIVATE_HOSTS"] == "dashscope.aliyuncs.com"


def test_a_worker_process_activates_when_it_adopts_settings(standin):
    """The os.environ watcher of a worker started without the variable turns the writes into activation."""
    code = (
        "import sys\n"
        "from dashscope_private.integrations.distributed import take\n"
        f"take({{'DASHSCOPE_PRIVATE_ENDPOINT': {standin.url!r}}})\n"
        "import urllib.request\n"
        "print(urllib.request.urlopen('https://dashscope.aliyuncs.com/compatible-mode/v1/models', timeout=10).status)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [(r.path, r.host) for r in standin.records] == [("/compatible-mode/v1/models", standin.netloc)]


def test_the_engines_load_nothing_at_start_up(standin):
    """With the variable set, start-up does not import the cluster integrations (nor the engines)."""
    env = {**os.environ, "DASHSCOPE_PRIVATE_ENDPOINT": standin.url}
    code = "import sys; print(sorted(m for m in sys.modules if m.startswith('dashscope_private')))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = eval(done.stdout)
    assert "dashscope_private._propagate" not in loaded and not [m for m in loaded if m.startswith("dashscope_private.integrations")]


def test_routes_are_carried_and_a_settings_file_travels_as_its_variables(tmp_path):
    """A worker has no copy of the driver's TOML file: its settings are carried as variables, the driver's own variables first."""
    from dashscope_private.config import CONFIG, ROUTES, load

    assert _propagate.carried({ROUTES: "dashscope-intl.aliyuncs.com=http://127.0.0.1:9"}) == {ROUTES: "dashscope-intl.aliyuncs.com=http://127.0.0.1:9"}
    path = tmp_path / "dsp.toml"
    path.write_text('strict = true\n[routes]\n"Dashscope.aliyuncs.com" = "http://127.0.0.1:8"\n"dashscope-intl.aliyuncs.com" = "http://127.0.0.1:7"\n')
    settings = {CONFIG: str(path), ROUTES: "dashscope-intl.aliyuncs.com=http://127.0.0.1:9"}
    carried = _propagate.carried(settings)
    assert carried == {"DASHSCOPE_PRIVATE_STRICT": "1", ROUTES: "dashscope-intl.aliyuncs.com=http://127.0.0.1:9,dashscope.aliyuncs.com=http://127.0.0.1:8"}
    assert load(carried).routing_table() == load(settings).routing_table()  # the worker decides as the driver does
    path.write_text('propagate = false\n[routes]\n"dashscope.aliyuncs.com" = "http://127.0.0.1:8"\n')
    assert _propagate.carried({CONFIG: str(path)}) == {}
    assert _propagate.carried({CONFIG: str(tmp_path / "missing.toml")}) == {CONFIG: str(tmp_path / "missing.toml")}  # fails closed there too
