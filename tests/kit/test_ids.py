from __future__ import annotations

import pytest

from openbank_kit import ids
from openbank_kit.ids import ID_PATTERN, is_id, new_id


def test_new_id_has_prefix_and_fits_max40text() -> None:
    identifier = new_id("abcdefgh")
    assert identifier.startswith("abcdefgh_")
    assert len(identifier) <= 40
    assert ID_PATTERN.match(identifier)
    assert is_id(identifier, "abcdefgh")
    assert not is_id(identifier, "ltx")


def test_new_ids_are_url_safe_lower_case_and_unique() -> None:
    made = {new_id("ltx") for _ in range(2000)}
    assert len(made) == 2000
    for identifier in made:
        assert identifier == identifier.lower()
        assert all(char.isalnum() or char == "_" for char in identifier)


def test_ids_sort_by_creation_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    made = []
    for ms in (1_700_000_000_000, 1_700_000_000_001, 1_700_000_001_000, 1_800_000_000_000):
        monkeypatch.setattr(ids.time, "time_ns", lambda ms=ms: ms * 1_000_000)
        made.append(new_id("pay"))
    assert made == sorted(made)


@pytest.mark.parametrize("prefix", ["", "a", "abcdefghi", "Pay", "pay1", "pa_y", "支付"])
def test_new_id_refuses_bad_prefixes(prefix: str) -> None:
    with pytest.raises(ValueError):
        new_id(prefix)
