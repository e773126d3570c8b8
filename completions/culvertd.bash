# SPDX-License-Identifier: MIT
# bash completion for culvertd(8): its long options as `culvertd --help`
# lists them (so the list cannot drift from the code: --no-seccomp and the
# others), file names for the options that take a file, the words of --mode
# --transport and --transports, the named network namespaces for --netns,
# and user and group names.
_culvertd()
{
	local cur prev words cword
	_init_completion || return

	case $prev in
	-c | --config | -k | --private-key | --preshared-key)
		_filedir
		return
		;;
	-m | --mode)
		COMPREPLY=($(compgen -W 'tun tap' -- "$cur"))
		return
		;;
	-t | --transport)
		COMPREPLY=($(compgen -W 'tcp udp auto' -- "$cur"))
		return
		;;
	--transports)
		COMPREPLY=($(compgen -W 'udp,tcp tcp udp' -- "$cur"))
		return
		;;
	--netns)
		COMPREPLY=($(compgen -W '$(ls /run/netns 2>/dev/null)' -- "$cur"))
		return
		;;
	-u | --user)
		COMPREPLY=($(compgen -u -- "$cur"))
		return
		;;
	-g | --group)
		COMPREPLY=($(compgen -g -- "$cur"))
		return
		;;
	-d | --dev | -l | --listen | -C | --connect | -M | --mtu | -p | --peer-public-key | \
		--rekey-after | --keepalive | --dead-peer-timeout | --out-buffer | --metrics-listen | \
		--dev-fd)
		# A value of the user's own.
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '$(_parse_help "$1")' -- "$cur"))
	fi
} &&
	complete -F _culvertd culvertd
