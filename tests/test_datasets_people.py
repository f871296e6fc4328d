"""The FEBRL-style people generator: deterministic, the truth it claims, the errors it plants."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmint.datasets import _duplicates, people_with_duplicates
from segmint.datasets._duplicates import PEOPLE_COLUMNS, typo
from segmint.datasets._names import NICKNAMES


def damerau(a: str, b: str) -> int:
    """Optimal string alignment distance (insert, delete, substitute, transpose adjacent)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    return people_with_duplicates(3000, duplicate_share=0.3, seed=4)


def test_docstring_examples() -> None:
    assert doctest.testmod(_duplicates).failed == 0


def test_same_seed_same_frame_other_seed_other_frame() -> None:
    a = people_with_duplicates(400, seed=1)
    pd.testing.assert_frame_equal(a, people_with_duplicates(400, seed=1))
    assert not a.equals(people_with_duplicates(400, seed=2))


def test_shape_and_answer_key(people: pd.DataFrame) -> None:
    assert tuple(people.columns) == PEOPLE_COLUMNS
    assert people["customer_id"].is_unique
    sizes = people.groupby("true_person").size()
    assert len(sizes) == 3000
    assert (sizes > 1).sum() == 900  # duplicate_share of the people, exactly
    assert sizes.max() <= 4
    # 1–3 extra records (mean 1.4) for each duplicated person
    assert 1.3 < (sizes[sizes > 1] - 1).mean() < 1.5
    # shuffled: a person's records are not next to each other
    assert not people["true_person"].is_monotonic_increasing


def test_typo_is_one_edit_away() -> None:
    rng = np.random.default_rng(0)
    words = ["Smith", "Elizabeth", "Oak Street", "Li", "Nguyen", "O'Brien"]
    for k in range(600):
        word = words[k % len(words)]
        changed = typo(word, rng)
        assert changed != word
        assert damerau(word, changed) == 1, (word, changed)


def test_duplicates_carry_the_planted_errors(people: pd.DataFrame) -> None:
    """Every kind of error the generator claims shows up within true clusters."""
    p = people.assign(f=people["first_name"].str.lower(), la=people["last_name"].str.lower())
    pairs = p.merge(p, on="true_person", suffixes=("_a", "_b"))
    pairs = pairs[pairs["customer_id_a"] < pairs["customer_id_b"]]
    n = len(pairs)
    assert n > 900
    swapped = (pairs["f_a"] == pairs["la_b"]) & (pairs["la_a"] == pairs["f_b"])
    one_edit = [
        damerau(a, b) == 1 for a, b in zip(pairs["last_name_a"], pairs["last_name_b"], strict=True)
    ]
    nick = [
        b in NICKNAMES.get(a, ()) or a in NICKNAMES.get(b, ())
        for a, b in zip(pairs["first_name_a"], pairs["first_name_b"], strict=True)
    ]
    one_missing_birth = pairs["birth_date_a"].isna() != pairs["birth_date_b"].isna()
    moved = pairs["city_a"] != pairs["city_b"]
    upper = pairs["first_name_a"].str.isupper() | pairs["first_name_b"].str.isupper()
    for name, mask in {
        "swapped names": swapped,
        "last-name typo": pd.Series(one_edit, index=pairs.index),
        "nickname": pd.Series(nick, index=pairs.index),
        "missing birth date": one_missing_birth,
        "moved": moved,
        "upper case": upper,
    }.items():
        assert 0.01 < mask.mean() < 0.4, f"{name}: {mask.mean():.3f} of {n} true pairs"
    # and yet most true pairs still agree on the birth date when both have one
    both = pairs.dropna(subset=["birth_date_a", "birth_date_b"])
    assert (both["birth_date_a"] == both["birth_date_b"]).mean() > 0.85


def test_namesakes_and_households_are_different_people(people: pd.DataFrame) -> None:
    firsts = people.drop_duplicates("true_person")
    namesakes = firsts.groupby(["first_name", "last_name"])["true_person"].nunique()
    assert (namesakes > 1).sum() > 20  # common names repeat across people
    household = firsts.groupby(["address", "postal_code"])["true_person"].nunique()
    assert (household > 1).sum() > 50  # people sharing an address and a landline


def test_phones_are_us_numbers_in_mixed_formats(people: pd.DataFrame) -> None:
    import phonenumbers

    phones = people["phone"].dropna()
    assert 0.05 < people["phone"].isna().mean() < 0.25
    parsed = [phonenumbers.parse(x, "US") for x in phones.head(500)]
    assert all(phonenumbers.is_valid_number(x) for x in parsed)
    styles = phones.str.replace(r"\d", "9", regex=True).value_counts()
    assert len(styles) == 5, styles


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate_share"):
        people_with_duplicates(10, duplicate_share=1.5)
    with pytest.raises(ValueError, match="n_people"):
        people_with_duplicates(0)


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = Path(_duplicates.__file__).with_name("README.md").read_text(encoding="utf-8")
    section = readme.split("## People recorded more than once", 1)[1]
    code = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "segmint/datasets/README.md", "exec"), {})
    assert len(pd.read_csv(tmp_path / "people.csv")) == 1412
