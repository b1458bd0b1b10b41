# Prints the modules to load for the module names in `roots`, in an order
# where each comes after what it needs: one line per module, its path as
# modules.dep names it, then "optional" when only a soft dependency asks for
# it (a CPU-specific variant such as crc32c-intel may refuse to load).
#
# Usage: awk -v roots="virtio_pci ext4" -f load-order.awk \
#            modules.dep modules.softdep modules.alias
# (the files depmod writes; see modules.dep(5) and modprobe.d(5)).
#
# A name given to the kernel or in a softdep is either a module's own name
# ("-" and "_" alike) or an alias of one or more modules.

function modname(path,    name) {
	name = path
	sub(/.*\//, "", name)
	sub(/\.ko(\.[a-z]+)?$/, "", name)
	gsub(/-/, "_", name)
	return name
}

# The modules a name stands for, separated by spaces.
function resolve(name) {
	gsub(/-/, "_", name)
	if (name in path_of)
		return name
	return (name in aliased) ? aliased[name] : ""
}

function visit_all(names, optional,    n, list, i, j, m, mods) {
	n = split(names, list, " ")
	for (i = 1; i <= n; i++) {
		m = split(resolve(list[i]), mods, " ")
		if (m == 0 && !optional) {
			printf "load-order: no module or alias named %s\n", list[i] > "/dev/stderr"
			failed = 1
		}
		for (j = 1; j <= m; j++)
			visit(mods[j], optional)
	}
}

# A module something needs, and all it depends on (modules.dep lists each
# module's dependencies transitively).
function mark_hard(mod,    n, list, i) {
	hard[mod] = 1
	n = split(deps[mod], list, " ")
	for (i = 1; i <= n; i++)
		hard[list[i]] = 1
}

# Depth first: pre-softdeps, then hard dependencies, then the module, then
# post-softdeps (the order modprobe loads them in).
function visit(mod, optional) {
	if (!optional)
		mark_hard(mod)
	if (mod in placed)
		return
	placed[mod] = 1
	visit_all(soft_pre[mod], 1)
	visit_all(deps[mod], optional)
	order[++count] = mod
	visit_all(soft_post[mod], 1)
}

FILENAME ~ /modules\.dep$/ {
	sub(/:$/, "", $1)
	mod = modname($1)
	path_of[mod] = $1
	for (i = 2; i <= NF; i++)
		deps[mod] = deps[mod] " " modname($i)
	next
}

FILENAME ~ /modules\.softdep$/ && $1 == "softdep" {
	mod = $2
	gsub(/-/, "_", mod)
	where = ""
	for (i = 3; i <= NF; i++) {
		if ($i == "pre:" || $i == "post:")
			where = $i
		else if (where == "pre:")
			soft_pre[mod] = soft_pre[mod] " " $i
		else if (where == "post:")
			soft_post[mod] = soft_post[mod] " " $i
	}
	next
}

FILENAME ~ /modules\.alias$/ && $1 == "alias" {
	name = $2
	gsub(/-/, "_", name)
	aliased[name] = aliased[name] " " $3
}

END {
	visit_all(roots, 0)
	if (failed)
		exit 1
	for (i = 1; i <= count; i++)
		print path_of[order[i]] (order[i] in hard ? "" : " optional")
}
