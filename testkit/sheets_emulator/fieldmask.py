"""Google field masks: "a.b,c(d,e/f)" -> tree {"a": {"b": {}}, "c": {"d": {}, "e": {"f": {}}}}."""


def parse(mask):
    tree = {}
    if not mask:
        return tree
    _parse_list(mask.replace(" ", ""), 0, tree)
    return tree


def _parse_list(s, i, tree):
    while i < len(s):
        j = i
        while j < len(s) and s[j] not in ",()":
            j += 1
        node = tree
        for name in s[i:j].replace("/", ".").split("."):
            if name:
                node = node.setdefault(name, {})
        i = j
        if i < len(s) and s[i] == "(":
            i = _parse_list(s, i + 1, node)
        if i < len(s) and s[i] == ",":
            i += 1
            continue
        if i < len(s) and s[i] == ")":
            return i + 1
    return i


def apply(obj, tree):
    """Keep only the masked fields of obj (lists are masked element-wise)."""
    if not tree or "*" in tree:
        return obj
    if isinstance(obj, list):
        return [apply(x, tree) for x in obj]
    if isinstance(obj, dict):
        return {k: apply(obj[k], sub) for k, sub in tree.items() if k in obj}
    return obj


def leaf_paths(tree, prefix=()):
    """All leaf paths of a mask tree, as tuples."""
    out = []
    for k, sub in tree.items():
        if sub:
            out.extend(leaf_paths(sub, prefix + (k,)))
        else:
            out.append(prefix + (k,))
    return out


def copy_masked(target, source, tree):
    """Write-side mask: for each masked path set target[path] = source[path], or delete it
    when the source lacks it (that is how Google clears a field)."""
    if "*" in tree:
        target.clear()
        target.update(_deep(source))
        return
    for path in leaf_paths(tree):
        _copy_path(target, source, path)


def _copy_path(target, source, path):
    key = path[0]
    if len(path) == 1:
        if isinstance(source, dict) and key in source:
            target[key] = _deep(source[key])
        else:
            target.pop(key, None)
        return
    sub_src = source.get(key) if isinstance(source, dict) else None
    sub_tgt = target.setdefault(key, {})
    _copy_path(sub_tgt, sub_src or {}, path[1:])
    if not sub_tgt:
        target.pop(key, None)


def _deep(v):
    import copy
    return copy.deepcopy(v)
