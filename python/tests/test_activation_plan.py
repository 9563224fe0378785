"""The activation planner from Python (offline runtimes: no GPU): the C++ planner's obvious cases through
ctypes, budgets, and argument errors; the offloader's refusal on an offline runtime."""

from __future__ import annotations

import math

import pytest

import ghtier
from ghtier.activation import ActivationOffloader, LayerProfile, plan_activations

GIB = 1 << 30
MIB = 1 << 20


def reference_layers():
    # The reference model's step on an H200 (0.95 B Llama shape, batch 4 x 4096): 92 ms forward, 165 ms
    # backward, about 22 GiB of distinct activations over 16 layers, 64 MiB inputs.
    return [LayerProfile(0.092 / 16, 0.165 / 16, 22 * GIB // 16, 64 * MIB) for _ in range(16)]


def test_unlimited_budget_keeps_the_step_as_fast_as_keeping_everything():
    plan = plan_activations(reference_layers(), profile="x86-h100-pcie")
    assert plan.fits_budget
    assert plan.step_seconds == pytest.approx(plan.keep_all_step_seconds)
    assert plan.recomputed_layers == 0
    assert len(plan.actions) == 16


def test_gh200_offloads_where_pcie_recomputes_at_checkpointings_memory():
    layers = reference_layers()
    budget = plan_activations(layers, profile="gh200").recompute_all_peak_device_bytes
    gh200 = plan_activations(layers, profile="gh200", device_budget=budget)
    pcie = plan_activations(layers, profile="x86-h100-pcie", device_budget=budget)
    assert gh200.fits_budget and pcie.fits_budget
    assert gh200.recomputed_layers == 0
    assert "offload" in gh200.actions
    assert gh200.step_seconds < 0.95 * gh200.recompute_all_step_seconds
    assert pcie.recomputed_layers > 0
    assert gh200.peak_device_bytes <= budget and pcie.peak_device_bytes <= budget


def test_a_given_link_and_a_runtime_give_the_same_plan_as_the_profile():
    layers = reference_layers()
    with ghtier.Runtime(assumed_profile="x86-h100-pcie") as runtime:
        info = runtime.platform.link
        by_runtime = plan_activations(layers, runtime=runtime, device_budget=8 * GIB)
    by_link = plan_activations(layers, link={"h2d_gbps": info["h2d_gbps"], "d2h_gbps": info["d2h_gbps"],
                                             "latency_us": info["latency_us"]}, device_budget=8 * GIB)
    assert by_runtime.actions == by_link.actions
    assert math.isclose(by_runtime.step_seconds, by_link.step_seconds, rel_tol=1e-12)


def test_an_impossible_budget_is_no_error_but_says_so():
    plan = plan_activations(reference_layers(), profile="gh200", device_budget=1)
    assert not plan.fits_budget
    assert plan.peak_device_bytes < plan.keep_all_peak_device_bytes


def test_fixed_actions_are_kept_and_get_one_layer_of_lookahead_over_pcie():
    # Every layer offloaded over a 55 GB/s link: 1.4 GiB a layer takes 27 ms each way against 10 ms of
    # backward, so one layer ahead keeps the link busy; further ahead would only hold restored layers.
    layers = reference_layers()
    link = {"h2d_gbps": 55.0, "d2h_gbps": 1000.0, "latency_us": 4.0}
    auto = plan_activations(layers, link=link)
    fixed = plan_activations(layers, link=link, actions=["offload"] * 16)
    assert auto.actions != ["offload"] * 16
    assert fixed.actions == ["offload"] * 16
    assert fixed.prefetch_lookahead == 1
    assert fixed.offloaded_bytes == 16 * (22 * GIB // 16)
    assert fixed.step_seconds >= fixed.bound_seconds
    with pytest.raises(ghtier.InvalidArgumentError, match="actions has 15 entries for 16 layers"):
        plan_activations(layers, link=link, actions=["offload"] * 15)
    with pytest.raises(ghtier.InvalidArgumentError, match="each must be"):
        plan_activations(layers, link=link, actions=["offload"] * 15 + ["move"])


def test_bad_arguments_name_what_was_wrong():
    with pytest.raises(ghtier.InvalidArgumentError, match="layers"):
        plan_activations([], profile="gh200")
    with pytest.raises(ghtier.InvalidArgumentError, match="device_budget"):
        plan_activations(reference_layers(), profile="gh200", device_budget=-5)
    bad = reference_layers()
    bad[7] = LayerProfile(float("nan"), 0.01, GIB, MIB)
    with pytest.raises(ghtier.InvalidArgumentError, match="layer 7"):
        plan_activations(bad, profile="gh200")
    with pytest.raises(ghtier.NotFoundError):
        plan_activations(reference_layers(), profile="gh300")


def test_the_offloader_needs_a_gpu_and_a_host_budget():
    with ghtier.Runtime(assumed_profile="gh200") as runtime:
        with pytest.raises(ghtier.InvalidArgumentError, match="host_arena_bytes"):
            ActivationOffloader(runtime, 0)
        with pytest.raises(ghtier.UnsupportedError, match="offline"):
            ActivationOffloader(runtime, 64 * MIB)
