"""ctypes mirror of the C API (include/ghtier/ghtier.h, ghtier_engine.h, ghtier_kernels.h, ghtier_torch.h).

The structs and the prototypes here follow the headers field for field; tests/test_capi_layout.py checks
the struct sizes against the headers' own layout rules. Nothing here calls the library: see _library.py.
"""

from __future__ import annotations

import ctypes
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_int, c_int32, c_size_t,
                    c_uint32, c_uint64, c_void_p)
from typing import Dict, List, Tuple

c_status = c_int  # ghtier_status_t (an enum: int-sized)
c_ptrdiff = ctypes.c_ssize_t

UNLIMITED = ctypes.c_size_t(-1).value  # GHTIER_UNLIMITED


class RuntimeOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("device", c_int32),
        ("policy", c_int32),
        ("size_threshold_bytes", c_size_t),
        ("device_budget_bytes", c_size_t),
        ("pinned_host_budget_bytes", c_size_t),
        ("managed_budget_bytes", c_size_t),
        ("system_budget_bytes", c_size_t),
        ("assumed_profile", c_char_p),
        ("pinned_reserve_bytes", c_size_t),
    ]


class PlacementRequest(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("bytes", c_size_t),
        ("tag", c_char_p),
        ("accessor", c_int32),
        ("frequency", c_int32),
        ("flags", c_uint32),
    ]


class Placement(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("mode", c_int32),
        ("preferred_location", c_int32),
        ("accessed_by", c_uint32),
        ("flags", c_uint32),
        ("reason", c_char * 256),
    ]


class PlatformInfo(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("device", c_int32),
        ("platform_class", c_int32),
        ("host_access", c_int32),
        ("coherent", c_int32),
        ("managed_migrates", c_int32),
        ("gpu_reads_pageable", c_int32),
        ("compute_major", c_int32),
        ("compute_minor", c_int32),
        ("sm_count", c_int32),
        ("async_engine_count", c_int32),
        ("host_numa_id", c_int32),
        ("offline", c_int32),
        ("hbm_bytes", c_size_t),
        ("h2d_gbps", c_double),
        ("d2h_gbps", c_double),
        ("bidirectional_gbps", c_double),
        ("sm_read_gbps", c_double),
        ("sm_write_gbps", c_double),
        ("hbm_gbps", c_double),
        ("latency_us", c_double),
        ("name", c_char * 256),
    ]


class Statistics(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("current_bytes", c_size_t),
        ("peak_bytes", c_size_t),
        ("current_allocations", c_size_t),
        ("total_allocations", c_uint64),
        ("total_bytes", c_uint64),
        ("failed_allocations", c_uint64),
        ("budget_bytes", c_size_t),
    ]


class Residency(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("where", c_int32),
        ("numa_node", c_int32),
        ("device_bytes", c_size_t),
        ("host_bytes", c_size_t),
        ("unknown_bytes", c_size_t),
        ("source", c_int32),
        ("approximate", c_int32),
    ]


class AllocationInfo(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("base", c_void_p),
        ("bytes", c_size_t),
        ("mode", c_int32),
        ("reserved0", c_int32),
        ("tag", c_char * 128),
    ]


# --- engine ---------------------------------------------------------------------------------------------
TransferCallback = CFUNCTYPE(None, c_void_p, c_int)


class EngineOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("chunk_bytes", c_size_t),
        ("background_window_bytes", c_size_t),
        ("staging_chunk_bytes", c_size_t),
        ("staging_slots", c_size_t),
        ("batch_max_items", c_size_t),
        ("copy_threads", c_uint32),
        ("batch_mechanism", c_int32),
        ("disable_batch_api", c_int32),
        ("reserved", c_int32),
    ]


class TransferOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("priority", c_int32),
        ("reserved", c_int32),
        ("wait_streams", POINTER(c_void_p)),
        ("num_wait_streams", c_size_t),
        ("wait_events", POINTER(c_void_p)),
        ("num_wait_events", c_size_t),
        ("on_complete", TransferCallback),
        ("user_data", c_void_p),
    ]


class LaneStatistics(Structure):
    _fields_ = [
        ("requests", c_uint64),
        ("bytes", c_uint64),
        ("chunks", c_uint64),
        ("busy_seconds", c_double),
        ("achieved_gbps", c_double),
        ("queued", c_uint64),
        ("peak_queued", c_uint64),
    ]


class EngineStatistics(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("to_device", LaneStatistics),
        ("to_host", LaneStatistics),
        ("local", LaneStatistics),
        ("staged_to_device_bytes", c_uint64),
        ("staged_to_host_bytes", c_uint64),
        ("staging_slots_in_use", c_uint64),
        ("staging_peak_slots_in_use", c_uint64),
        ("submitted", c_uint64),
        ("completed", c_uint64),
        ("failed", c_uint64),
        ("cancelled", c_uint64),
        ("captured", c_uint64),
        ("batch_calls", c_uint64),
        ("batch_fallback_calls", c_uint64),
        ("queue_depth", c_uint64),
        ("sm_batch_launches", c_uint64),
    ]


# --- torch allocator slots ------------------------------------------------------------------------------
TORCH_SLOTS = 8
TORCH_MODE_POLICY = -1
TORCH_THROW_ON_FAILURE = 0x1
TORCH_CACHE_FREED_BLOCKS = 0x2


class TorchBindOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("mode", c_int32),
        ("flags", c_uint32),
        ("capture_reserve_bytes", c_size_t),
        ("tag", c_char_p),
        ("cache_limit_bytes", c_size_t),
    ]


class TorchSlotStatistics(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("bound", c_int32),
        ("mode", c_int32),
        ("current_bytes", c_size_t),
        ("current_allocations", c_size_t),
        ("peak_bytes", c_size_t),
        ("total_allocations", c_uint64),
        ("failed_allocations", c_uint64),
        ("foreign_frees", c_uint64),
        ("capture_allocations", c_uint64),
        ("capture_reserve_bytes", c_size_t),
        ("capture_reserve_used_bytes", c_size_t),
        ("device_bytes", c_size_t),
        ("pinned_host_bytes", c_size_t),
        ("managed_bytes", c_size_t),
        ("system_bytes", c_size_t),
        ("deferred_free_bytes", c_size_t),
        ("deferred_frees", c_uint64),
        ("cached_bytes", c_size_t),
        ("cached_blocks", c_size_t),
        ("cache_hits", c_uint64),
        ("cache_misses", c_uint64),
        ("cache_limit_bytes", c_size_t),
    ]


class ModeAccess(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("gpu_access", c_int32),
        ("cpu_access", c_int32),
        ("migrates", c_int32),
        ("relocation", c_int32),
        ("lives_in", c_char * 128),
        ("gpu_path", c_char * 128),
    ]


RELOCATIONS = ("none", "prefetch")
MOVE_MECHANISMS = ("copy_engine", "staged_copy", "host_copy")


class Column(Structure):
    _fields_ = [("struct_size", c_size_t), ("data", c_void_p), ("rows", c_uint64), ("type", c_int32),
                ("reserved", c_int32)]


class RangeFilter(Structure):
    _fields_ = [("struct_size", c_size_t), ("column", POINTER(Column)), ("float_bounds", c_int32),
                ("reserved", c_int32), ("min_int", ctypes.c_int64), ("max_int", ctypes.c_int64),
                ("min_float", c_double), ("max_float", c_double)]


class AggregateResult(Structure):
    _fields_ = [("struct_size", c_size_t), ("count", c_uint64), ("sum_int", ctypes.c_int64),
                ("min_int", ctypes.c_int64), ("max_int", ctypes.c_int64), ("sum_float", c_double),
                ("min_float", c_double), ("max_float", c_double)]


class HashJoinOptions(Structure):
    _fields_ = [("struct_size", c_size_t), ("max_load_factor", c_double)]


class JoinPair(Structure):
    _fields_ = [("probe_row", c_uint64), ("build_row", c_uint64)]


class JoinResult(Structure):
    _fields_ = [("struct_size", c_size_t), ("matches", c_uint64), ("payload_sum_int", ctypes.c_int64),
                ("payload_sum_float", c_double), ("pairs_written", c_uint64), ("pairs_overflowed", c_uint32),
                ("reserved", c_uint32)]


class BitpackBlockHeader(Structure):
    _fields_ = [("reference", ctypes.c_int64), ("width", c_uint32), ("offset", c_uint32)]


class BitpackedColumn(Structure):
    _fields_ = [("struct_size", c_size_t), ("value_type", c_int32), ("reserved", c_int32), ("rows", c_uint64),
                ("blocks", POINTER(BitpackBlockHeader)), ("words", POINTER(c_uint32)), ("word_count", c_uint64)]


def sized(struct_type: type) -> Structure:
    """A zeroed struct with struct_size set, as every versioned C struct wants."""
    s = struct_type()
    s.struct_size = ctypes.sizeof(struct_type)
    return s


_p = c_void_p
_pp = POINTER(c_void_p)
_int_p = POINTER(c_int)
_size_p = POINTER(c_size_t)

# name -> (restype, argtypes). Every function returns a status unless its restype says otherwise.
PROTOTYPES: Dict[str, Tuple[object, List[object]]] = {
    # errors and version
    "ghtier_version_get": (c_status, [_int_p, _int_p, _int_p]),
    "ghtier_status_name": (c_char_p, [c_status]),
    "ghtier_error_message": (c_char_p, []),
    "ghtier_error_cuda": (c_int, []),
    "ghtier_log_set_sink": (c_status, [c_void_p, c_void_p]),
    "ghtier_log_set_level": (c_status, [c_int]),
    # runtime
    "ghtier_runtime_create": (c_status, [POINTER(RuntimeOptions), _pp]),
    "ghtier_runtime_destroy": (c_status, [_p]),
    "ghtier_runtime_get_platform_info": (c_status, [_p, POINTER(PlatformInfo)]),
    "ghtier_runtime_set_policy": (c_status, [_p, c_int, c_size_t]),
    "ghtier_runtime_get_policy": (c_status, [_p, _int_p]),
    "ghtier_runtime_resolve": (c_status, [_p, POINTER(PlacementRequest), POINTER(Placement)]),
    "ghtier_runtime_set_budget": (c_status, [_p, c_int, c_size_t]),
    "ghtier_runtime_get_budget": (c_status, [_p, c_int, _size_p, _size_p]),
    "ghtier_runtime_get_statistics": (c_status, [_p, c_int, POINTER(Statistics)]),
    # memory
    "ghtier_memory_alloc": (c_status, [_p, POINTER(PlacementRequest), _p, _pp, POINTER(Placement)]),
    "ghtier_memory_alloc_sync": (c_status, [_p, POINTER(PlacementRequest), _pp, POINTER(Placement)]),
    "ghtier_memory_alloc_mode": (c_status, [_p, c_int, c_size_t, _p, _pp]),
    "ghtier_memory_alloc_mode_sync": (c_status, [_p, c_int, c_size_t, _pp]),
    "ghtier_memory_free": (c_status, [_p, _p, _p]),
    "ghtier_memory_free_sync": (c_status, [_p, _p]),
    "ghtier_memory_relocate": (c_status, [_p, _p, c_int, _p, _pp]),
    "ghtier_memory_relocate_sync": (c_status, [_p, _p, c_int, _pp]),
    "ghtier_memory_prefetch": (c_status, [_p, _p, c_size_t, c_int, _p]),
    "ghtier_memory_advise": (c_status, [_p, _p, c_size_t, c_int, c_int]),
    "ghtier_memory_get_residency": (c_status, [_p, _p, c_size_t, POINTER(Residency)]),
    "ghtier_memory_get_info": (c_status, [_p, _p, POINTER(AllocationInfo)]),
    # engine
    "ghtier_engine_create": (c_status, [_p, POINTER(EngineOptions), _pp]),
    "ghtier_engine_destroy": (c_status, [_p]),
    "ghtier_engine_copy": (c_status, [_p, _p, _p, c_size_t, POINTER(TransferOptions), _pp]),
    "ghtier_engine_prefetch": (c_status, [_p, _p, c_size_t, c_int, POINTER(TransferOptions), _pp]),
    "ghtier_engine_copy_batch": (c_status, [_p, _pp, _pp, _size_p, c_size_t, POINTER(TransferOptions), _pp]),
    "ghtier_engine_synchronize": (c_status, [_p]),
    "ghtier_engine_get_statistics": (c_status, [_p, POINTER(EngineStatistics)]),
    "ghtier_token_poll": (c_status, [_p, _int_p]),
    "ghtier_token_wait": (c_status, [_p, _int_p]),
    "ghtier_token_wait_on_stream": (c_status, [_p, _p]),
    "ghtier_token_destroy": (c_status, [_p]),
    # kernels
    "ghtier_sm_copy": (c_status, [_p, _p, c_size_t, _p]),
    "ghtier_sm_copy_2d": (c_status, [_p, c_size_t, _p, c_size_t, c_size_t, c_size_t, _p]),
    "ghtier_aggregate": (c_status, [_p, POINTER(Column), POINTER(RangeFilter), _p, POINTER(AggregateResult)]),
    "ghtier_group_by": (c_status, [_p, POINTER(Column), POINTER(Column), c_uint32, POINTER(RangeFilter), _p,
                                   POINTER(AggregateResult), POINTER(c_uint64)]),
    "ghtier_gather": (c_status, [_p, _p, c_size_t, c_size_t, _p, c_int, c_size_t, _p, _p, _p]),
    "ghtier_sorted_gather": (c_status, [_p, _p, c_size_t, c_size_t, _p, c_int, c_size_t, _p, _p, _p]),
    "ghtier_scatter": (c_status, [_p, _p, c_size_t, c_size_t, _p, c_int, _p, c_size_t, _p, _p]),
    # platform report
    "ghtier_runtime_get_mode_access": (c_status, [_p, c_int, POINTER(ModeAccess)]),
    "ghtier_runtime_get_move_mechanism": (c_status, [_p, c_int, c_int, _int_p]),
    # row cache, hash join, bit-packed columns
    "ghtier_row_cache_create": (c_status, [_p, _p, c_size_t, c_size_t, POINTER(ctypes.c_int64), c_size_t, _p, _pp]),
    "ghtier_row_cache_create_from_frequencies": (c_status, [_p, _p, c_size_t, c_size_t, POINTER(c_uint64), c_size_t,
                                                            _p, _pp]),
    "ghtier_row_cache_destroy": (c_status, [_p]),
    "ghtier_row_cache_gather": (c_status, [_p, _p, c_int, c_size_t, _p, _p, _p]),
    "ghtier_row_cache_get_statistics": (c_status, [_p, _p, POINTER(c_uint64), POINTER(c_uint64)]),
    "ghtier_row_cache_get_info": (c_status, [_p, _size_p, _size_p]),
    "ghtier_hash_table_get_layout": (c_status, [c_uint64, c_int, c_int, c_double, POINTER(c_uint64),
                                                POINTER(c_uint64)]),
    "ghtier_hash_table_create": (c_status, [_p, POINTER(Column), POINTER(Column), POINTER(HashJoinOptions), _p,
                                            _pp]),
    "ghtier_hash_table_destroy": (c_status, [_p]),
    "ghtier_hash_table_get_info": (c_status, [_p, POINTER(c_uint64), POINTER(c_uint64)]),
    "ghtier_hash_table_probe": (c_status, [_p, POINTER(Column), POINTER(JoinPair), c_uint64, _p,
                                           POINTER(JoinResult)]),
    "ghtier_bitpacked_get_size": (c_status, [_p, c_int, c_uint64, POINTER(c_uint64), POINTER(c_uint64)]),
    "ghtier_bitpacked_pack": (c_status, [_p, c_int, c_uint64, POINTER(BitpackBlockHeader), c_uint64,
                                         POINTER(c_uint32), c_uint64, POINTER(BitpackedColumn)]),
    "ghtier_bitpacked_validate": (c_status, [POINTER(BitpackedColumn)]),
    "ghtier_bitpacked_unpack": (c_status, [POINTER(BitpackedColumn), _p, c_uint64]),
    "ghtier_bitpacked_aggregate": (c_status, [_p, POINTER(BitpackedColumn), POINTER(RangeFilter), _p,
                                              POINTER(AggregateResult)]),
    # torch allocator slots
    "ghtier_torch_bind": (c_status, [c_int32, _p, POINTER(TorchBindOptions)]),
    "ghtier_torch_unbind": (c_status, [c_int32]),
    "ghtier_torch_slot_statistics": (c_status, [c_int32, POINTER(TorchSlotStatistics)]),
    "ghtier_torch_last_error": (c_char_p, [c_int32]),
    "ghtier_torch_empty_cache": (c_status, [c_int32]),
    "ghtier_torch_stream_is_capturing": (c_status, [_p, POINTER(c_int32)]),
}
for _n in range(TORCH_SLOTS):
    PROTOTYPES[f"ghtier_torch_alloc_{_n}"] = (c_void_p, [c_ptrdiff, c_int, _p])
    PROTOTYPES[f"ghtier_torch_free_{_n}"] = (None, [_p, c_ptrdiff, c_int, _p])
