//go:build linux

package nodesandbox

import (
	"regexp"
	"strings"
)

// Paths inside the node. recordDir holds what the stand-ins and stub installers record; it is
// reported through Result.Calls and Result.Installs, not Result.Files.
const (
	recordDir    = "/var/lib/ec2k8s-sandbox"
	realHostname = "/usr/lib/ec2k8s-sandbox/hostname.real"
	// noRecordEnv, set in a stand-in's environment, keeps the call out of the record: the
	// sandbox's own `cloud-init status` asks systemctl too.
	noRecordEnv = "EC2K8S_SANDBOX_NORECORD"
)

// recordFunc is shared by the stand-ins: `record TOOL ARGS...` stores one call in
// recordDir/calls/<n>/ (n from an atomic mkdir, so concurrent calls keep distinct numbers and
// their order): tool, argv (NUL-terminated arguments) and caller (the parent's command line).
const recordFunc = `sandbox=` + recordDir + `
record() {
	[ -z "${` + noRecordEnv + `:-}" ] || return 0
	mkdir -p "$sandbox/calls" || return 0
	n=1
	while ! mkdir "$sandbox/calls/$n" 2>/dev/null; do
		n=$((n + 1))
		[ "$n" -lt 100000 ] || return 0
	done
	printf '%s' "$1" >"$sandbox/calls/$n/tool"
	shift
	for a in "$@"; do printf '%s\0' "$a"; done >"$sandbox/calls/$n/argv"
	tr '\0' ' ' <"/proc/$PPID/cmdline" >"$sandbox/calls/$n/caller" 2>/dev/null || true
}
`

// systemctlScript stands in for systemctl. It keeps the state a payload may query: enable and
// disable (with --now), start, restart, stop; is-active, is-enabled and show answer from it.
// cloud-init's own units report active and exited, as after a boot; everything else succeeds.
const systemctlScript = `#!/bin/sh
# ec2k8s node sandbox (internal/nodesandbox): a stand-in for systemctl that records each call.
` + recordFunc + `record systemctl "$@"
state=$sandbox/systemd
mkdir -p "$state/enabled" "$state/active"
verb='' now='' quiet='' units=''
for a in "$@"; do
	case $a in
	--now) now=1 ;;
	-q | --quiet) quiet=1 ;;
	-*) ;;
	*) if [ -z "$verb" ]; then verb=$a; else units="$units $a"; fi ;;
	esac
done
unit() { case $1 in *.*) printf '%s' "$1" ;; *) printf '%s.service' "$1" ;; esac; }
say() { [ -n "$quiet" ] || printf '%s\n' "$1"; }
rc=0
for u in $units; do
	u=$(unit "$u")
	case $verb in
	enable) : >"$state/enabled/$u" && { [ -z "$now" ] || : >"$state/active/$u"; } ;;
	disable) rm -f "$state/enabled/$u" && { [ -z "$now" ] || rm -f "$state/active/$u"; } ;;
	start | restart | reload | reload-or-restart | try-restart | try-reload-or-restart) : >"$state/active/$u" ;;
	stop | kill) rm -f "$state/active/$u" ;;
	is-active | status)
		if [ -e "$state/active/$u" ]; then say active; else say inactive && rc=3; fi ;;
	is-enabled)
		if [ -e "$state/enabled/$u" ]; then say enabled; else say disabled && rc=1; fi ;;
	is-failed) say inactive && rc=1 ;;
	show)
		case $u in
		cloud-*) printf 'ActiveState=active\nSubState=exited\nUnitFileState=enabled\nMainPID=0\n' ;;
		*)
			a=inactive s=dead f=disabled
			if [ -e "$state/active/$u" ]; then a=active s=running; fi
			if [ -e "$state/enabled/$u" ]; then f=enabled; fi
			printf 'ActiveState=%s\nSubState=%s\nUnitFileState=%s\nMainPID=0\n' "$a" "$s" "$f" ;;
		esac ;;
	esac
done
case $verb in
is-system-running) say running ;;
show-environment) printf 'LANG=C.UTF-8\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\n' ;;
esac
exit "$rc"
`

// hostnamectlScript stands in for hostnamectl. set-hostname (or hostname NAME) sets the static
// hostname (/etc/hostname) and the transient one (the kernel's, in the sandbox's own UTS
// namespace), or only those named by --static, --transient or --pretty (/etc/machine-info).
const hostnamectlScript = `#!/bin/sh
# ec2k8s node sandbox (internal/nodesandbox): a stand-in for hostnamectl that records each call.
` + recordFunc + `record hostnamectl "$@"
only='' verb='' name=''
for a in "$@"; do
	case $a in
	--static | --transient | --pretty) only="$only ${a#--}" ;;
	-*) ;;
	*) if [ -z "$verb" ]; then verb=$a; elif [ -z "$name" ]; then name=$a; fi ;;
	esac
done
want() { [ -z "$only" ] || case "$only " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
static() { cat /etc/hostname 2>/dev/null || true; }
case $verb in
set-hostname | hostname)
	if [ -z "$name" ]; then
		[ "$verb" = hostname ] || { echo "hostnamectl: missing hostname" >&2 && exit 1; }
		if [ "$only" = " static" ]; then static; else ` + realHostname + `; fi
		exit 0
	fi
	if want static; then printf '%s\n' "$name" >/etc/hostname; fi
	if want transient; then ` + realHostname + ` "$name"; fi
	if [ -n "$only" ] && want pretty; then printf 'PRETTY_HOSTNAME=%s\n' "$name" >/etc/machine-info; fi ;;
status | '')
	printf ' Static hostname: %s\n        Hostname: %s\n' "$(static)" "$(` + realHostname + `)" ;;
esac
`

// hostnameScript stands in for hostname(1): it records the call and runs the real one, which
// sets the kernel's hostname in the sandbox's UTS namespace only.
const hostnameScript = `#!/bin/sh
# ec2k8s node sandbox (internal/nodesandbox): a stand-in for hostname that records each call.
` + recordFunc + `record hostname "$@"
exec ` + realHostname + ` "$@"
`

// stubInstallerScript is StubInstaller's script; @NAME@ is its name.
const stubInstallerScript = `#!/bin/sh
# ec2k8s node sandbox (internal/nodesandbox): the stub installer "@NAME@". It installs nothing:
# it records how it was run ($0, arguments, environment, working directory, standard input) in
# ` + recordDir + `/installs/<n>/ and exits 0. It never reads its standard input, so
# "curl ... | sh -s -- ARGS" works.
set -eu
d=` + recordDir + `/installs
mkdir -p "$d"
n=1
while ! mkdir "$d/$n" 2>/dev/null; do n=$((n + 1)); done
printf '%s' '@NAME@' >"$d/$n/name"
{
	printf '%s\0' "$0"
	for a in "$@"; do printf '%s\0' "$a"; done
} >"$d/$n/argv"
env -0 >"$d/$n/env"
pwd >"$d/$n/cwd"
readlink "/proc/$$/fd/0" >"$d/$n/stdin" 2>/dev/null || echo closed >"$d/$n/stdin"
echo "ec2k8s sandbox: stub installer @NAME@ ran (record $n)"
`

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// StubInstaller returns a stub installer script named name (characters other than letters,
// digits, '.', '_' and '-' become '_'): serve it in Node.Files to stand in for an install script
// (the sandbox serves StubInstaller("install.sh") at InstallerURL). Each run is an Install of
// the Result.
func StubInstaller(name string) []byte {
	return []byte(strings.ReplaceAll(stubInstallerScript, "@NAME@", unsafeName.ReplaceAllString(name, "_")))
}
