"""``--shard`` parsing, the by-domain assignment, shard file names and the shard record (docs/reference.md
§12)."""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from batchproxy.errors import UsageError
from batchproxy.merge import default_outputs
from batchproxy.shard import (
    Domain,
    ShardSpec,
    assign,
    domain_key,
    hashed_shard,
    parse_shard,
    shard_path,
    split_shard_name,
)
from batchproxy.shard_record import (
    ShardRecord,
    input_digest,
    load_shard_record,
    save_shard_record,
    shard_record_path,
)


def _domains(count: int) -> list[Domain]:
    return [("account", f"{100000000000 + i}", ("us-east-1", "eu-west-1")[i % 2]) for i in range(count)]


def test_explicit_index_is_taken_as_given() -> None:
    assert parse_shard("2/4") == ShardSpec(index=2, count=4)
    assert parse_shard(" 1/1 ") == ShardSpec(index=1, count=1)
    assert str(parse_shard("3/8")) == "3/8"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0/4", "I must be between 1 and N=4 (got 0)"),
        ("5/4", "I must be between 1 and N=4 (got 5)"),
        ("1/0", "N must be between 1 and"),
        ("2", "expected I/N (e.g. 2/4) or auto/N"),
        ("-1/4", "expected I/N"),
        ("a/4", "expected I/N"),
        ("1/4/2", "expected I/N"),
    ],
)
def test_malformed_or_out_of_range_shards_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match="--shard") as raised:
        parse_shard(text)
    assert message in str(raised.value)


@pytest.mark.parametrize("variable", ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"])
def test_auto_takes_the_0_based_index_of_kubernetes_or_batch(variable: str) -> None:
    assert parse_shard("auto/4", {variable: "0"}) == ShardSpec(index=1, count=4)
    assert parse_shard("auto/4", {variable: "3"}) == ShardSpec(index=4, count=4)


def test_auto_prefers_the_kubernetes_index_and_skips_empty_values() -> None:
    both = {"JOB_COMPLETION_INDEX": "1", "AWS_BATCH_JOB_ARRAY_INDEX": "2"}
    assert parse_shard("auto/4", both).index == 2
    assert parse_shard("auto/4", {"JOB_COMPLETION_INDEX": "", "AWS_BATCH_JOB_ARRAY_INDEX": "2"}).index == 3


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "neither JOB_COMPLETION_INDEX nor AWS_BATCH_JOB_ARRAY_INDEX is set"),
        ({"JOB_COMPLETION_INDEX": "4"}, "JOB_COMPLETION_INDEX=4 is outside 0..3"),
        ({"AWS_BATCH_JOB_ARRAY_INDEX": "x1"}, "AWS_BATCH_JOB_ARRAY_INDEX='x1' is not a whole number"),
        ({"JOB_COMPLETION_INDEX": "-1"}, "is not a whole number"),
    ],
)
def test_auto_without_a_usable_index_is_a_usage_error(environ: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_shard("auto/4", environ)
    assert message in str(raised.value)


def test_every_domain_gets_exactly_one_shard_and_the_counts_add_up() -> None:
    counts = {d: 1 + i % 7 for i, d in enumerate(_domains(50))}
    assignment = assign(counts, 4)
    assert set(assignment.shard_of_domain) == set(counts)
    for domain in counts:
        owners = [i for i in range(1, 5) if assignment.owns(ShardSpec(index=i, count=4), domain)]
        assert owners == [assignment.shard_of(domain)]
    per_shard = assignment.rows_per_shard()
    assert sum(per_shard.values()) == sum(counts.values())
    for index, rows in per_shard.items():
        assert rows == sum(n for d, n in counts.items() if assignment.shard_of(d) == index)


def test_assignment_does_not_depend_on_the_order_domains_are_listed() -> None:
    counts = {d: 1 + i % 5 for i, d in enumerate(_domains(40))}
    shuffled = list(counts.items())
    random.Random(7).shuffle(shuffled)
    assert assign(dict(shuffled), 3) == assign(counts, 3)


def test_assignment_is_the_same_in_another_process_with_another_hash_seed() -> None:
    """Stable across machines: nothing may depend on Python's per-process randomised ``hash``."""
    program = (
        "from batchproxy.shard import assign, hashed_shard\n"
        "d=[('account',str(100000000000+i),('us-east-1','eu-west-1')[i%2]) for i in range(40)]\n"
        "a=assign({x:1+i%5 for i,x in enumerate(d)},3)\n"
        "print([a.shard_of(x) for x in d], [hashed_shard(x,7) for x in d])\n"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True, timeout=60
        )
        outputs.add(done.stdout)
    domains = _domains(40)
    here = assign({x: 1 + i % 5 for i, x in enumerate(domains)}, 3)
    expected = f"{[here.shard_of(x) for x in domains]} {[hashed_shard(x, 7) for x in domains]}\n"
    assert outputs == {expected}


def test_few_domains_are_spread_as_evenly_as_whole_domains_allow() -> None:
    """Four equal domains on two shards: two each, where hashing alone often gives 3 + 1 or 4 + 0."""
    equal: dict[Domain, int] = {
        ("profile", None, r): 15 for r in ("us-east-1", "eu-west-2", "ap-southeast-2", "us-west-2")
    }
    assert assign(equal, 2).rows == (30, 30)
    # One big domain cannot be split: it fills a shard alone, the rest share the other.
    skewed: dict[Domain, int] = {
        ("profile", "big", "us-east-1"): 100,
        **{("profile", f"p{i}", "us-east-1"): 10 for i in range(5)},
    }
    assert sorted(assign(skewed, 2).rows) == [50, 100]


def test_many_uneven_domains_land_within_a_few_percent_of_perfect() -> None:
    rng = random.Random(3)
    counts = {d: rng.randint(1, 400) for d in _domains(500)}
    for shards in (2, 4, 8):
        rows = assign(counts, shards).rows
        ideal = sum(counts.values()) / shards
        assert max(rows) <= ideal * 1.02, (shards, rows)
        assert max(rows) - min(rows) <= 400


def test_more_shards_than_domains_leaves_shards_idle() -> None:
    assignment = assign({("profile", None, "us-east-1"): 10, ("profile", None, "eu-west-1"): 5}, 4)
    assert assignment.rows_per_shard() == {1: 10, 2: 5, 3: 0, 4: 0}


def test_a_domain_the_input_did_not_count_falls_back_to_the_keyed_hash() -> None:
    assignment = assign({("profile", None, "us-east-1"): 10}, 5)
    stranger: Domain = ("account", "999999999999", "sa-east-1")
    assert assignment.shard_of(stranger) == hashed_shard(stranger, 5)
    assert all(1 <= hashed_shard(d, 5) <= 5 for d in _domains(30))
    assert len({hashed_shard(d, 5) for d in _domains(30)}) > 1


def test_domain_key_tells_a_named_default_profile_from_the_default() -> None:
    assert domain_key(("profile", None, "us-east-1")) != domain_key(("profile", "null", "us-east-1"))
    assert domain_key(("profile", "a", "b")) != domain_key(("account", "a", "b"))


def test_owns_refuses_a_spec_for_another_shard_count() -> None:
    with pytest.raises(ValueError, match="assignment for 2 shards"):
        assign({("profile", None, "us-east-1"): 1}, 2).owns(
            ShardSpec(index=1, count=3), ("profile", None, "x")
        )


def test_shard_paths_put_the_suffix_before_the_extension_and_back() -> None:
    spec = ShardSpec(index=2, count=4)
    assert shard_path(Path("/d/input.results.csv"), spec) == Path("/d/input.results.shard-2-of-4.csv")
    assert shard_path(Path("/d/input.failed.csv"), spec) == Path("/d/input.failed.shard-2-of-4.csv")
    assert split_shard_name("input.results.shard-2-of-4.csv") == ("input.results.csv", spec)
    assert split_shard_name("out.shard-1-of-1") == ("out", ShardSpec(index=1, count=1))
    assert split_shard_name("input.results.csv") is None
    assert split_shard_name("input.shard-5-of-4.csv") is None  # not one of ours: I > N


def test_shard_record_round_trips_privately_and_refuses_what_is_not_one(tmp_path: Path) -> None:
    results = tmp_path / "in.results.shard-1-of-2.csv"
    record = ShardRecord(index=1, count=2, input_digest="blake2b:ab", input_rows=10, shard_rows=4)
    save_shard_record(results, record)
    assert load_shard_record(results) == record
    assert record.spec == ShardSpec(index=1, count=2)
    assert stat.S_IMODE(shard_record_path(results).stat().st_mode) == 0o600
    document = json.loads(shard_record_path(results).read_text())
    for spoiled in (
        {"index": 3},
        {"shard_rows": 11},
        {"version": 99},
        {"count": "2"},
        {"input_digest": None},
    ):
        shard_record_path(results).write_text(json.dumps({**document, **spoiled}))
        with pytest.raises(UsageError, match="is not a shard record"):
            load_shard_record(results)
    shard_record_path(results).write_text("{not json")
    with pytest.raises(UsageError, match="cannot read the shard record"):
        load_shard_record(results)


def test_input_digest_follows_the_bytes(tmp_path: Path) -> None:
    one, two = tmp_path / "a.csv", tmp_path / "b.csv"
    one.write_bytes(b"VoiceConnectorId\nvc1\n")
    two.write_bytes(b"VoiceConnectorId\nvc1\n")
    assert input_digest(one) == input_digest(two)
    assert input_digest(one).startswith("blake2b:")
    two.write_bytes(b"VoiceConnectorId\nvc2\n")
    assert input_digest(one) != input_digest(two)


def test_merged_file_names_are_what_one_run_would_have_written() -> None:
    """Named as one run names them: run `input.results.csv`, `input.failed.csv`; rollback `x.rollback.csv`."""
    shards = [Path(f"/d/input.results.shard-{i}-of-2.csv") for i in (1, 2)]
    assert default_outputs(shards) == (Path("/d/input.results.csv"), Path("/d/input.failed.csv"))
    rollback = [Path(f"/d/x.rollback.shard-{i}-of-2.csv") for i in (1, 2)]
    assert default_outputs(rollback) == (Path("/d/x.rollback.csv"), Path("/d/x.rollback.failed.csv"))
    for mixed in ([shards[0], rollback[1]], [shards[0], Path("/e/input.results.shard-2-of-2.csv")]):
        with pytest.raises(UsageError, match="give the merged files' paths with --results"):
            default_outputs(mixed)
    with pytest.raises(UsageError):
        default_outputs([Path("/d/input.results.csv")])
