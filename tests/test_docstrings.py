"""The examples in ember's docstrings run as tests.

Every ``>>>`` example in a module of the ``ember`` package is collected with
``doctest.DocTestFinder`` and run as one pytest case, so a docstring whose example no longer
gives the printed result fails CI. Examples are written as a user would type them: they may
use ``ember`` and ``np`` (NumPy) without importing them, and import anything else they use.
Each example starts from the same state (global seed 0, float32 default, grad mode on).

``test_public_names_have_examples`` lists the public names of the user-facing modules that
have no example yet; the modules in ``FULLY_DOCUMENTED`` must have one for every name.
"""
from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import ember

OPTIONFLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS

# the user-facing modules whose public names should carry an example
PUBLIC_MODULES = [
    "ember", "ember.nn", "ember.nn.functional", "ember.nn.init", "ember.nn.utils",
    "ember.optim", "ember.optim.lr_scheduler", "ember.optim.functional", "ember.data",
    "ember.data.transforms", "ember.random", "ember.tree", "ember.tree_util", "ember.numpy",
    "ember.lax", "ember.func", "ember.autograd", "ember.serialization",
]
# modules in which every public name must have a runnable example (it grows; never shrinks).
# Not yet: "ember" (the new linalg/special functions, erfinv, lstm_cell/lstm_sequence),
# "ember.numpy" and "ember.data.transforms" (being extended now; complete at the time of writing).
FULLY_DOCUMENTED = [
    "ember.nn", "ember.nn.functional", "ember.nn.init", "ember.nn.utils", "ember.optim",
    "ember.optim.lr_scheduler", "ember.optim.functional", "ember.data", "ember.random",
    "ember.tree", "ember.tree_util", "ember.lax", "ember.func", "ember.autograd",
    "ember.serialization",
]


def _ember_modules():
    names = ["ember"]
    for info in pkgutil.walk_packages(ember.__path__, prefix="ember."):
        names.append(info.name)
    modules = []
    for name in sorted(names):
        try:
            modules.append(importlib.import_module(name))
        except ImportError:  # a module behind an optional dependency that is not installed
            continue
    return modules


def public_names(module_name):
    """(qualified name, object) for each public callable of a user-facing module."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    out = []
    for name in names:
        obj = getattr(module, name, None)
        if obj is None or inspect.ismodule(obj) or not callable(obj):
            continue
        out.append((f"{module_name}.{name}", obj))
    return out


def has_example(obj):
    doc = getattr(obj, "__doc__", None)
    return isinstance(doc, str) and ">>>" in doc


def _collect():
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = {}
    for module in _ember_modules():
        for test in finder.find(module, globs={}):
            if test.examples:
                found.setdefault(test.name, test)
    # a public function made in one module and exported from another (a generated op) is
    # not seen by the walk above: take its docstring from the public name
    seen_docs = {test.docstring for test in found.values()}
    own_docs = doctest.DocTestFinder(recurse=False, exclude_empty=True)
    for module_name in PUBLIC_MODULES:
        for qualname, obj in public_names(module_name):
            if has_example(obj) and obj.__doc__ not in seen_docs:
                for test in own_docs.find(obj, name=qualname, module=False, globs={}):
                    found.setdefault(test.name, test)
                seen_docs.add(obj.__doc__)
    return [found[name] for name in sorted(found)]


DOCTESTS = _collect()


@pytest.fixture
def fresh_state():
    dtype = ember.get_default_dtype()
    grad_on = ember.is_grad_enabled()
    generator = ember.default_generator
    seed, state = generator.initial_seed(), generator.get_state()
    ember.manual_seed(0)
    yield
    ember.set_default_dtype(dtype)
    ember.set_grad_enabled(grad_on)
    generator.manual_seed(seed)
    generator.set_state(state)


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_docstring_example(test, fresh_state):
    test.globs = {"ember": ember, "np": np}
    lines = []
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS, verbose=False)
    result = runner.run(test, out=lines.append, clear_globs=True)
    assert result.failed == 0, "".join(lines)


def test_docstring_examples_are_collected():
    # the finder sees the package (a broken import path or finder option would make this 0)
    assert len(DOCTESTS) > 50, f"only {len(DOCTESTS)} docstrings with examples were found"


def example_coverage():
    """(names with an example, all names), counting each object once across the modules."""
    seen = {}
    for module_name in PUBLIC_MODULES:
        for qualname, obj in public_names(module_name):
            seen.setdefault(id(obj), (qualname, obj))
    with_example = sorted(q for q, o in seen.values() if has_example(o))
    return with_example, sorted(q for q, _ in seen.values())


@pytest.mark.parametrize("module_name", FULLY_DOCUMENTED)
def test_public_names_have_examples(module_name):
    missing = [q for q, obj in public_names(module_name) if not has_example(obj)]
    assert not missing, (f"{module_name}: these public names have no docstring example "
                         f"(add a short '>>>' example that checks a value): {missing}")


if __name__ == "__main__":  # python tests/test_docstrings.py: the coverage figures
    done, everything = example_coverage()
    print(f"{len(done)} of {len(everything)} public names have a runnable example")
    for name in sorted(set(everything) - set(done)):
        print("  missing:", name)
