"""doctor on where settings live: a .env the environment lacks, a pasted base URL, plain HTTP."""

from __future__ import annotations

import json

import pytest

from dashscope_private.cli import _read_dotenv, _settings_lines, _settings_warnings
from dashscope_private.config import ENDPOINT, load
from support import cli

EP = "ep-2zei6917b47eedabcdef.dashscope.cn-beijing.privatelink.aliyuncs.com"


def test_dotenv_the_environment_lacks_is_reported_and_checked(standin, tmp_path):
    (tmp_path / ".env").write_text(f"DASHSCOPE_API_KEY=sk-never-printed-456\nexport DASHSCOPE_PRIVATE_ENDPOINT='{standin.url}/compatible-mode/v1'  # from the guide\n")
    result = cli("doctor", "--json", cwd=str(tmp_path))
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout
    dotenv = report["dotenv"]
    assert dotenv["variables"] == dotenv["missing_from_environment"] == [ENDPOINT]
    assert "load_dotenv()" in dotenv["advice"] and "set -a; . ./.env; set +a" in dotenv["advice"]
    assert report["config"]["sources"][ENDPOINT] == ".env"
    assert report["config"]["endpoint"] == standin.url  # checked with the .env's value
    assert report["config"]["dropped_path"] == "/compatible-mode/v1"
    assert report["tcp"]["error"] is None
    assert "sk-never-printed-456" not in result.stdout

    text = cli("doctor", cwd=str(tmp_path)).stdout
    assert f"! .env: {tmp_path}/.env sets {ENDPOINT}, which this shell's environment lacks" in text
    assert "its path /compatible-mode/v1 is dropped" in text


def test_environment_wins_over_dotenv_like_load_dotenv(standin, tmp_path):
    (tmp_path / ".env").write_text("DASHSCOPE_PRIVATE_ENDPOINT=http://127.0.0.1:9\n")
    report = json.loads(cli("doctor", "--json", env={ENDPOINT: standin.url}, cwd=str(tmp_path)).stdout)
    assert report["config"]["endpoint"] == standin.url
    assert report["dotenv"]["differs_from_environment"] == [ENDPOINT] and report["dotenv"]["missing_from_environment"] == []
    assert "override=False" in report["dotenv"]["advice_differs"]


def test_dotenv_without_our_variables_is_not_mentioned(tmp_path):
    (tmp_path / ".env").write_text("DASHSCOPE_API_KEY=sk-x\n")
    result = cli("doctor", "--json", cwd=str(tmp_path))
    report = json.loads(result.stdout)
    assert "dotenv" not in report and report["verdict"] == f"inactive: {ENDPOINT} is not set"


def test_invalid_value_in_dotenv_is_a_configuration_error(tmp_path):
    (tmp_path / ".env").write_text("DASHSCOPE_PRIVATE_ENDPOINT=http://127.0.0.1:9/v1\n")
    result = cli("doctor", cwd=str(tmp_path))
    assert result.returncode == 2
    assert "✗ DASHSCOPE_PRIVATE_ENDPOINT: the path '/v1' is not allowed" in result.stdout and "! .env:" in result.stdout


def test_read_dotenv_keeps_only_our_variables(tmp_path):
    path = tmp_path / ".env"
    path.write_text(
        "# comment\nDASHSCOPE_API_KEY=sk-secret\nDASHSCOPE_PRIVATE_ENDPOINT = \"http://a.example/api/v1\"\n"
        "export DASHSCOPE_PRIVATE_STRICT=1 # strict\nDASHSCOPE_PRIVATE_LOG='debug'\nDASHSCOPE_PRIVATE_NOTHING\n"
    )
    assert _read_dotenv(str(path)) == {"DASHSCOPE_PRIVATE_ENDPOINT": "http://a.example/api/v1", "DASHSCOPE_PRIVATE_STRICT": "1", "DASHSCOPE_PRIVATE_LOG": "debug"}


@pytest.mark.parametrize(
    "endpoint, warned",
    [
        (EP, True),  # the default domain serves plain HTTP only
        (f"http://{EP}/compatible-mode/v1", True),
        ("http://10.0.0.5:8080", True),
        ("vpc-cn-beijing.dashscope.aliyuncs.com", False),  # keeps the request's https
        ("https://10.0.0.5", False),
        (f"https://{EP}", False),
        ("http://127.0.0.1:8000", False),  # loopback: nothing crosses a network
    ],
)
def test_plain_http_warning(endpoint, warned):
    warnings = _settings_warnings(load({ENDPOINT: endpoint}), {})
    assert bool(warnings) is warned
    if warned:
        assert "plain HTTP" in warnings[0] and "custom service domain" in warnings[0]
        assert _settings_lines({"warnings": warnings})[0].startswith("! the endpoint ")
