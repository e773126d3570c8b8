# SPDX-License-Identifier: MIT
# bash completion for culvertctl(8): objects, verbs and keywords as
# iproute2's completion does them, with namespace, link, user and group
# names taken from the system.

# Namespace names, as `culvertctl netns list` (and `ip netns`) see them.
_culvertctl_netns_names()
{
	local f
	for f in /run/netns/*; do
		[[ -e $f ]] && printf '%s\n' "${f##*/}"
	done
}

# Link names in the namespace the command will run in: /sys/class/net for
# our own, `culvertctl -n NS link show` for another (which needs root; as
# anyone else it just offers nothing).
_culvertctl_link_names()
{
	local f
	if [[ -n $_culvertctl_ns ]]; then
		culvertctl -n "$_culvertctl_ns" link show 2>/dev/null |
			sed -n 's/^[0-9][0-9]*: \([^:@ ]*\).*/\1/p'
	else
		for f in /sys/class/net/*; do
			[[ -e $f ]] && printf '%s\n' "${f##*/}"
		done
	fi
}

# The tunnels running: the status sockets culvertctl show reads.
_culvertctl_tunnel_names()
{
	local f
	for f in "${CULVERT_RUNDIR:-@runstatedir@}"/*.sock; do
		[[ -S $f ]] && f=${f##*/} && printf '%s\n' "${f%.sock}"
	done
}

# _culvertctl_words WORD...: offers the words that complete the current one.
_culvertctl_words()
{
	COMPREPLY+=($(compgen -W "$*" -- "$cur"))
}

_culvertctl()
{
	local cur prev words cword
	_init_completion || return

	local objects='netns link addr route forward nat topology show genkey pubkey genpsk selftest help'
	local i=1 _culvertctl_ns=''

	# Options come before the object (culvertctl stops at the first
	# non-option, as getopt's '+' does).
	while ((i < cword)); do
		case ${words[i]} in
		-n | --netns)
			_culvertctl_ns=${words[i + 1]-}
			((i += 2))
			;;
		--netns=*)
			_culvertctl_ns=${words[i]#--netns=}
			((i++))
			;;
		-*) ((i++)) ;;
		*) break ;;
		esac
	done

	if ((i == cword)); then
		case $prev in
		-n | --netns)
			_culvertctl_words "$(_culvertctl_netns_names)"
			[[ $cur == */* ]] && _filedir
			return
			;;
		esac
		if [[ $cur == -* ]]; then
			_culvertctl_words '-n --netns -h --help -V --version'
		else
			_culvertctl_words "$objects"
		fi
		return
	fi

	local object=${words[i]}
	local verb=${words[i + 1]-}
	# The arguments after the verb, the current word excluded.
	local nargs=$((cword - i - 2))

	if ((cword == i + 1)); then
		case $object in
		netns) _culvertctl_words 'add del list exec help' ;;
		link) _culvertctl_words 'add set del show help' ;;
		addr) _culvertctl_words 'add del show help' ;;
		route) _culvertctl_words 'add del show help' ;;
		forward) _culvertctl_words 'on off show help' ;;
		nat) _culvertctl_words 'add del show flush help' ;;
		topology) _culvertctl_words 'up down show help' ;;
		selftest) _culvertctl_words 'help' ;;
		show)
			if [[ $cur == -* ]]; then
				_culvertctl_words '--json --openmetrics --prometheus'
			else
				_culvertctl_words "$(_culvertctl_tunnel_names) help"
			fi
			;;
		esac
		return
	fi

	case $object in
	show)
		# [NAME] [--json | --openmetrics | --prometheus], in either order.
		if [[ $cur == -* ]]; then
			_culvertctl_words '--json --openmetrics --prometheus'
		elif [[ $verb == -* ]]; then
			_culvertctl_words "$(_culvertctl_tunnel_names)"
		fi
		;;
	netns)
		case $verb in
		del)
			((nargs == 0)) && _culvertctl_words "$(_culvertctl_netns_names)"
			;;
		exec)
			if ((nargs == 0)); then
				_culvertctl_words "$(_culvertctl_netns_names)"
			elif ((nargs == 1)) && [[ $cur == -* ]]; then
				_culvertctl_words '--'
			else
				# The command and its own arguments, as for sudo.
				local start=$((i + 3))
				[[ ${words[start]} == -- ]] && ((start++))
				((cword >= start)) && _command_offset "$start"
			fi
			;;
		esac
		;;
	link)
		case $verb in
		add)
			((nargs == 0)) && return # the new name
			case $prev in
			type) _culvertctl_words 'tun tap veth bridge' ;;
			user) COMPREPLY=($(compgen -u -- "$cur")) ;;
			group) COMPREPLY=($(compgen -g -- "$cur")) ;;
			netns) _culvertctl_words "$(_culvertctl_netns_names)" ;;
			peer | name) ;; # a new name
			*)
				local kind='' w
				for w in "${words[@]:i+3:nargs}"; do
					case $w in tun | tap | veth | bridge) kind=$w ;; esac
				done
				case $kind in
				'') _culvertctl_words 'type' ;;
				tun | tap) _culvertctl_words 'user group' ;;
				veth) _culvertctl_words 'peer netns' ;;
				esac
				;;
			esac
			;;
		set)
			if ((nargs == 0)); then
				_culvertctl_words "$(_culvertctl_link_names)"
				return
			fi
			case $prev in
			mtu) ;; # a number
			master) _culvertctl_words "$(_culvertctl_link_names)" ;;
			netns) _culvertctl_words "$(_culvertctl_netns_names)" ;;
			*) _culvertctl_words 'up down mtu master nomaster netns' ;;
			esac
			;;
		del)
			((nargs == 0)) && _culvertctl_words "$(_culvertctl_link_names)"
			;;
		show)
			if [[ $prev == dev ]] || ((nargs == 0)); then
				_culvertctl_words "$(_culvertctl_link_names)"
				((nargs == 0)) && _culvertctl_words 'dev'
			fi
			;;
		esac
		;;
	addr)
		case $verb in
		add | del)
			case $prev in
			dev) _culvertctl_words "$(_culvertctl_link_names)" ;;
			*) ((nargs == 1)) && _culvertctl_words 'dev' ;;
			esac
			;;
		show)
			case $prev in
			dev) _culvertctl_words "$(_culvertctl_link_names)" ;;
			*) ((nargs == 0)) && _culvertctl_words 'dev' ;;
			esac
			;;
		esac
		;;
	route)
		case $verb in
		add | del)
			case $prev in
			dev) _culvertctl_words "$(_culvertctl_link_names)" ;;
			via) ;; # an address
			*)
				if ((nargs == 0)); then
					_culvertctl_words 'default'
				else
					_culvertctl_words 'via dev'
				fi
				;;
			esac
			;;
		esac
		;;
	nat)
		# masquerade out DEV [from PREFIX]
		# dnat tcp|udp PORT to ADDR[:PORT] in DEV
		case $verb in
		add | del)
			local kind=${words[i + 2]-} w keys
			if ((nargs == 0)); then
				_culvertctl_words 'masquerade dnat'
				return
			fi
			case $kind in
			masquerade) keys='out from' ;;
			dnat)
				if ((nargs == 1)); then
					_culvertctl_words 'tcp udp'
					return
				fi
				((nargs == 2)) && return # the port
				keys='to in'
				;;
			*) return ;;
			esac
			case $prev in
			out | in) _culvertctl_words "$(_culvertctl_link_names)" ;;
			from | to) ;; # a prefix, an address
			*)
				# The keywords not given yet.
				for w in "${words[@]:i+3:nargs-1}"; do
					keys=" $keys "
					keys=${keys/ $w / }
				done
				_culvertctl_words "$keys"
				;;
			esac
			;;
		esac
		;;
	esac
} &&
	complete -F _culvertctl culvertctl
