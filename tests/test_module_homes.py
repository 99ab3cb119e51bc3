"""Names that moved to their own modules still import from their old homes, as the same objects."""

import importlib

import pytest

MOVED = {
    "posepred.checkpoint": {"posepred.files": ["atomic_write_bytes", "atomic_write_text", "atomic_torch_save"],
                            "posepred.lock": ["DirectoryLock", "LOCK"],
                            "posepred.manifest": ["FILES", "SET_FILES", "MANIFEST", "PREVIOUS", "INCOMING", "FORMAT"]},
    "posepred.mocap": {"posepred.bvh": ["BVH_TO_SOMOF", "MAX_MOCAP_VALUE", "check_bvh", "quaternion_to_rotmat",
                                        "read_bvh"]},
    "posepred.evaluate": {"posepred.results": ["LABELS", "PUBLISHED_TEST_ROW", "ResultRow", "best_of_id",
                                               "check_finite", "label_of", "load_results", "load_samples",
                                               "rows_by_id", "save_results"]},
}


@pytest.mark.parametrize("old", sorted(MOVED))
def test_moved_names_are_re_exported(old):
    module = importlib.import_module(old)
    for new, names in MOVED[old].items():
        home = importlib.import_module(new)
        for name in names:
            assert getattr(module, name) is getattr(home, name), f"{old}.{name}"
