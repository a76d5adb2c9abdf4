"""A lexicon file that is not one is refused without echoing its contents."""

from __future__ import annotations

import pytest

from wyoming_kokoro.config import ConfigError, validate

SECRET = "root:$6$s3cr3tHash:20228:0:99999:7:::"


@pytest.mark.parametrize("content", [
    SECRET + "\n",                          # parses as a mapping with a secret key
    f"{SECRET}\n  - [unbalanced\n",         # not YAML: the parser's snippet holds the line
    f"en:\n  word: [{SECRET}]\n",           # right shape, wrong value type
])
def test_lexicon_errors_never_show_the_file(tmp_path, content):
    path = tmp_path / "lexicon.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError) as error:
        validate({"lexicon": str(path)}, "config.yaml")
    assert "s3cr3t" not in str(error.value) and str(path) in str(error.value)


def test_binary_lexicon_file(tmp_path):
    path = tmp_path / "lexicon.bin"
    path.write_bytes(b"\xff\xfe\x00secret")
    with pytest.raises(ConfigError, match="not UTF-8"):
        validate({"lexicon": str(path)}, "config.yaml")


def test_good_lexicon_file(tmp_path):
    path = tmp_path / "lexicon.yaml"
    path.write_text("en-us: {Kokoro: kˈOkəɹO}\n")
    assert validate({"lexicon": str(path)}, "config.yaml")["lexicon"] == {"en-us": {"Kokoro": "kˈOkəɹO"}}
