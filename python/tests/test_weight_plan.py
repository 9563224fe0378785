"""The weight planner from Python (offline runtimes: no GPU): the C++ planner through ctypes, the minimum
budget, GH200 in-place reads, and argument errors; the streamer's refusal on an offline runtime."""

from __future__ import annotations

import pytest

import ghtier
from ghtier.errors import InvalidArgumentError, OutOfBudgetError, UnsupportedError
from ghtier.weights import WeightLayerProfile, WeightStreamer, plan_weights

MIB = 1 << 20
LAYER = 416 * MIB  # Llama-3-8B's decoder layer in bf16


def decoder(n=12, seconds=0.12e-3):
    return [WeightLayerProfile(LAYER, seconds) for _ in range(n)]


def test_everything_resident_when_it_fits():
    plan = plan_weights(decoder(), 12 * LAYER, profile="x86-h100-pcie")
    assert plan.placements == ["resident"] * 12
    assert plan.ring_slots == 0
    assert plan.step_seconds == pytest.approx(plan.all_resident_step_seconds)


def test_streaming_over_pcie_stays_near_its_bound_and_beats_the_naive_loop():
    for fraction in (0.0, 0.25, 0.5, 0.75):
        budget = int(fraction * 12 * LAYER) + 2 * LAYER
        plan = plan_weights(decoder(), budget, profile="x86-h100-pcie")
        assert plan.device_bytes <= budget
        assert "streamed" in plan.placements
        assert plan.step_seconds <= 1.05 * plan.bound_seconds
        assert plan.step_seconds < plan.naive_step_seconds


def test_gh200_reads_in_place_at_the_least_budget():
    plan = plan_weights(decoder(seconds=1.4e-3), 0, profile="gh200", allow_in_place=True)
    assert plan.ring_slots == 0
    assert set(plan.placements) == {"in_place"}


def test_a_budget_below_one_slot_names_the_minimum():
    with pytest.raises(OutOfBudgetError, match=str(LAYER)):
        plan_weights(decoder(), LAYER - 1, profile="x86-h100-pcie")


def test_bad_arguments():
    with pytest.raises(InvalidArgumentError):
        plan_weights([], LAYER)
    with pytest.raises(InvalidArgumentError):
        plan_weights(decoder(), -1)
    with pytest.raises(InvalidArgumentError):
        plan_weights([WeightLayerProfile(LAYER, float("nan"))], LAYER, profile="gh200")


def test_the_streamer_needs_a_gpu():
    host = bytearray(64)
    ptr = ctypes_address(host)
    with ghtier.Runtime(assumed_profile="x86-h100-pcie") as runtime:
        with pytest.raises(UnsupportedError):
            WeightStreamer(runtime, [[(ptr, 32)], [(ptr + 32, 32)]], 1 << 20)
        with pytest.raises(InvalidArgumentError):
            WeightStreamer(runtime, [[(ptr, 32)], []], 1 << 20)
        with pytest.raises(InvalidArgumentError):
            WeightStreamer(runtime, [[(ptr, 32)]], 1 << 20, in_place="sometimes")


def ctypes_address(buffer: bytearray) -> int:
    import ctypes

    return ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))
