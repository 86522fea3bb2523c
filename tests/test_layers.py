"""The package's layers point one way and importing it registers, nothing more.

Every import statement of the package is read (module level and inside functions alike: a
function-local import is a dependency too), resolved to the package's own modules, and checked
against the layer order; and a fresh interpreter that imports the package loads no module of
``deploy/``, ``analysis/`` or the command-line layer and no deployment runtime.
"""
import ast
import json
import os
import os.path as osp
import subprocess
import sys

import fasternet_yolo11

PACKAGE_DIR = osp.dirname(fasternet_yolo11.__file__)
# Each subpackage (or top-level module) and its layer: a module may import its own layer and the
# layers below it, never one above.
LAYERS = {
    'errors': 0,
    'models': 1,
    'datasets': 2, 'evaluation': 2,
    'engine': 3,
    'config': 4,
    'deploy': 5,
    'analysis': 6,
    'utils': 7,
}


def package_modules():
    """{dotted name: path} of every module of the package."""
    out = {}
    for folder, _, names in os.walk(PACKAGE_DIR):
        for name in names:
            if name.endswith('.py'):
                rel = osp.relpath(osp.join(folder, name), osp.dirname(PACKAGE_DIR))[:-3].replace(os.sep, '.')
                out[rel[:-len('.__init__')] if rel.endswith('.__init__') else rel] = osp.join(folder, name)
    return out


def imports_of(name, path, modules):
    """The package modules ``name`` imports, anywhere in its file."""
    package = name if path.endswith('__init__.py') else name.rpartition('.')[0]
    found = set()
    for node in ast.walk(ast.parse(open(path).read())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                prefix = '.'.join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ''
            targets = [prefix] + [f'{prefix}.{a.name}' for a in node.names]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition('.')[0]
            if target and target != name:
                found.add(target)
    return found


def layer_of(name):
    part = name.split('.')[1] if '.' in name else None
    return LAYERS.get(part)


def graph():
    modules = package_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_every_module_has_a_layer():
    unplaced = [m for m in graph() if m != 'fasternet_yolo11' and layer_of(m) is None]
    assert not unplaced, f'modules outside the layer table {sorted(LAYERS)}: {unplaced}'


def test_imports_point_down_the_layers():
    upward = [(m, t) for m, targets in graph().items() if m != 'fasternet_yolo11'
              for t in targets if t != 'fasternet_yolo11' and layer_of(t) > layer_of(m)]
    assert not upward, f'imports of a higher layer: {upward}'


def test_no_import_cycle():
    edges = {m: {t for t in ts if t != 'fasternet_yolo11'} for m, ts in graph().items()}
    # a package __init__ importing its own submodules is its face, not a dependency back
    edges = {m: {t for t in ts if not t.startswith(m + '.')} for m, ts in edges.items()}
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = 'open'
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 'open':
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 'done'
    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


def test_the_checker_sees_a_cycle_and_an_upward_import():
    """The three checks above read what they claim: a planted upward import is seen."""
    modules = package_modules()
    targets = imports_of('fasternet_yolo11.engine.hooks.deploy_mode_hook',
                         modules['fasternet_yolo11.engine.hooks.deploy_mode_hook'], modules)
    assert 'fasternet_yolo11.models.deploy_form' in targets
    assert layer_of('fasternet_yolo11.deploy.detector') > layer_of('fasternet_yolo11.engine.checkpoint_io')


PROBE = r'''
import json, sys
import fasternet_yolo11
print(json.dumps(sorted(sys.modules)))
'''


def test_importing_the_package_registers_and_loads_no_runtime():
    out = subprocess.run([sys.executable, '-c', PROBE], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    ours = {m for m in loaded if m.startswith('fasternet_yolo11.')}
    for layer in ('deploy', 'analysis', 'utils', 'config'):
        assert not [m for m in ours if m.startswith(f'fasternet_yolo11.{layer}')], (layer, sorted(ours))
    for runtime in ('onnxruntime', 'openvino', 'onnx', 'nncf'):
        assert runtime not in loaded, runtime
    # what it does load: the four registering layers
    for layer in ('models', 'datasets', 'evaluation', 'engine'):
        assert f'fasternet_yolo11.{layer}' in ours
