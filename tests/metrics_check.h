/* SPDX-License-Identifier: MIT */
/*
 * A small reference checker for what lib/metrics.c writes, used by the
 * unit test and the fuzz target: it parses the exposition line by line,
 * independently of the writer, and checks the rules of each format
 * (OpenMetrics 1.0.0 specification, "Text format"; Prometheus
 * exposition_formats.md for 0.0.4) that the writer promises:
 *   - every line ends in '\n', is a "# TYPE", "# HELP", "# UNIT" (OpenMetrics
 *     only) or "# EOF" line (OpenMetrics only, exactly once, last) or a
 *     sample "name{labels} value";
 *   - every family has exactly one TYPE and one HELP line, before its
 *     samples; a family's samples are together; no family comes twice;
 *   - sample names: OpenMetrics counters NAME_total, infos NAME_info,
 *     gauges and statesets NAME; 0.0.4: the TYPE'd name itself, and
 *     counters' names end in "_total";
 *   - a UNIT is a suffix of its family's name;
 *   - label names [a-zA-Z_][a-zA-Z0-9_]*, values quoted with only \\, \"
 *     and \n escapes, no label name twice in a sample, no label set twice
 *     in a family; values are decimal integers.
 * Each label (name, unescaped value) is passed to @on_label when given.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MC_MAX_FAMILIES 64
#define MC_MAX_SERIES   2048
#define MC_LINE_MAX     4096

struct mc_family {
	char name[128];
	char type[16];
	bool help, unit, done;
};

/* Writes a reason into @err and returns -1. */
static inline int mc_fail(char *err, size_t errlen, size_t lineno, const char *why)
{
	snprintf(err, errlen, "line %zu: %s", lineno, why);
	return -1;
}

static inline bool mc_name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* Is @s (@len bytes) a metric or label name?  (No ':': culvert uses none.) */
static inline bool mc_name_ok(const char *s, size_t len)
{
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++)
		if (!mc_name_char(s[i], i == 0))
			return false;
	return true;
}

static inline bool mc_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/*
 * Checks @text (@len bytes) as format OpenMetrics (@om) or 0.0.4.  Returns
 * the number of samples, or -1 with a reason in @err (@errlen bytes).
 */
static inline long metrics_check(const char *text, size_t len, bool om, char *err, size_t errlen,
				 void (*on_label)(const char *name, const char *value, void *arg),
				 void *arg)
{
	static struct mc_family fams[MC_MAX_FAMILIES];
	static char series[MC_MAX_SERIES][1024];
	size_t nfam = 0, nseries = 0, lineno = 0, pos = 0, i;
	struct mc_family *cur = NULL;
	bool eof = false;
	long samples = 0;

	memset(fams, 0, sizeof(fams));
	while (pos < len) {
		char line[MC_LINE_MAX];
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll;

		lineno++;
		if (!nl)
			return mc_fail(err, errlen, lineno, "no line feed at the end");
		ll = (size_t)(nl - (text + pos));
		if (ll >= sizeof(line))
			return mc_fail(err, errlen, lineno, "line too long");
		memcpy(line, text + pos, ll);
		line[ll] = '\0';
		pos += ll + 1;
		if (memchr(line, '\0', ll))
			return mc_fail(err, errlen, lineno, "NUL byte");
		if (eof)
			return mc_fail(err, errlen, lineno, "text after # EOF");
		if (line[0] == '#') {
			char kw[8], name[128];
			const char *rest;
			int n = 0;

			if (om && !strcmp(line, "# EOF")) {
				eof = true;
				continue;
			}
			if (sscanf(line, "# %7s %127s %n", kw, name, &n) < 2 || !n)
				return mc_fail(err, errlen, lineno, "bad comment line");
			rest = line + n;
			if (strncmp(line + 2, kw, strlen(kw)) || line[2 + strlen(kw)] != ' ' ||
			    strncmp(line + 3 + strlen(kw), name, strlen(name)) ||
			    line[3 + strlen(kw) + strlen(name)] != ' ')
				return mc_fail(err, errlen, lineno,
					       "bad spacing in a comment line");
			if (!mc_name_ok(name, strlen(name)))
				return mc_fail(err, errlen, lineno, "bad metric name");
			if (!cur || strcmp(cur->name, name)) {
				for (i = 0; i < nfam; i++)
					if (!strcmp(fams[i].name, name))
						return mc_fail(err, errlen, lineno,
							       "family metadata split or repeated");
				if (cur)
					cur->done = true;
				if (nfam == MC_MAX_FAMILIES)
					return mc_fail(err, errlen, lineno, "too many families");
				cur = &fams[nfam++];
				snprintf(cur->name, sizeof(cur->name), "%s", name);
			}
			if (!strcmp(kw, "TYPE")) {
				static const char *const om_types[] = {"counter", "gauge",
								       "stateset", "info"};
				static const char *const txt_types[] = {"counter", "gauge"};
				const char *const *types = om ? om_types : txt_types;
				size_t nt = om ? 4 : 2;

				if (cur->type[0])
					return mc_fail(err, errlen, lineno, "second TYPE");
				for (i = 0; i < nt; i++)
					if (!strcmp(rest, types[i]))
						break;
				if (i == nt)
					return mc_fail(err, errlen, lineno, "unknown type");
				snprintf(cur->type, sizeof(cur->type), "%s", rest);
				if (!om && !strcmp(rest, "counter") &&
				    !mc_ends_with(name, "_total"))
					return mc_fail(err, errlen, lineno,
						       "counter name without _total");
				if (om && mc_ends_with(name, "_total"))
					return mc_fail(err, errlen, lineno,
						       "OpenMetrics family name ends in _total");
			} else if (!strcmp(kw, "HELP")) {
				if (cur->help)
					return mc_fail(err, errlen, lineno, "second HELP");
				if (!*rest || strpbrk(rest, "\\\""))
					return mc_fail(err, errlen, lineno,
						       "empty or escaped HELP");
				cur->help = true;
			} else if (om && !strcmp(kw, "UNIT")) {
				if (cur->unit)
					return mc_fail(err, errlen, lineno, "second UNIT");
				if (!mc_name_ok(rest, strlen(rest)) || !mc_ends_with(name, rest) ||
				    name[strlen(name) - strlen(rest) - 1] != '_')
					return mc_fail(err, errlen, lineno,
						       "UNIT is not a suffix of the name");
				cur->unit = true;
			} else {
				return mc_fail(err, errlen, lineno, "unknown comment line");
			}
			continue;
		}
		/* A sample. */
		{
			char sname[128], want[160], key[1024], lname[64], value[512];
			const char *p = line, *q;
			size_t kl = 0, nlab = 0;
			char seen[16][64];

			while (mc_name_char(*p, p == line))
				p++;
			if ((size_t)(p - line) >= sizeof(sname) || p == line)
				return mc_fail(err, errlen, lineno, "bad sample name");
			memcpy(sname, line, (size_t)(p - line));
			sname[p - line] = '\0';
			if (!cur || !cur->type[0] || !cur->help)
				return mc_fail(err, errlen, lineno,
					       "sample before its family's TYPE and HELP");
			if (cur->done)
				return mc_fail(err, errlen, lineno, "family split");
			snprintf(want, sizeof(want), "%s%s", cur->name,
				 !om                             ? ""
				 : !strcmp(cur->type, "counter") ? "_total"
				 : !strcmp(cur->type, "info")    ? "_info"
								 : "");
			if (strcmp(sname, want))
				return mc_fail(err, errlen, lineno,
					       "sample name is not the family's");
			kl = (size_t)snprintf(key, sizeof(key), "%s", cur->name);
			if (*p == '{') {
				p++;
				for (;;) {
					size_t vl = 0;

					q = p;
					while (mc_name_char(*p, p == q))
						p++;
					if (p == q || (size_t)(p - q) >= sizeof(lname))
						return mc_fail(err, errlen, lineno,
							       "bad label name");
					memcpy(lname, q, (size_t)(p - q));
					lname[p - q] = '\0';
					for (i = 0; i < nlab; i++)
						if (!strcmp(seen[i], lname))
							return mc_fail(err, errlen, lineno,
								       "label given twice");
					if (nlab == 16)
						return mc_fail(err, errlen, lineno,
							       "too many labels");
					snprintf(seen[nlab++], sizeof(seen[0]), "%s", lname);
					if (p[0] != '=' || p[1] != '"')
						return mc_fail(err, errlen, lineno,
							       "no =\" after label");
					for (p += 2; *p != '"'; p++) {
						char c = *p;

						if (!c)
							return mc_fail(err, errlen, lineno,
								       "unterminated label value");
						if (c == '\\') {
							p++;
							c = *p == 'n' ? '\n' : *p;
							if (*p != 'n' && *p != '\\' && *p != '"')
								return mc_fail(err, errlen, lineno,
									       "bad escape");
						}
						if (vl + 1 >= sizeof(value))
							return mc_fail(err, errlen, lineno,
								       "label value too long");
						value[vl++] = c;
					}
					value[vl] = '\0';
					p++;
					if (on_label)
						on_label(lname, value, arg);
					kl += (size_t)snprintf(
					    key + kl, kl < sizeof(key) ? sizeof(key) - kl : 0,
					    "|%s=%s", lname, value);
					if (*p == ',') {
						p++;
						continue;
					}
					if (*p != '}')
						return mc_fail(err, errlen, lineno,
							       "no } after labels");
					p++;
					break;
				}
			}
			if (*p != ' ' || !p[1])
				return mc_fail(err, errlen, lineno, "no value");
			for (q = p + 1, q += *q == '-'; *q; q++)
				if (*q < '0' || *q > '9')
					return mc_fail(err, errlen, lineno,
						       "value is not an integer");
			if (kl >= sizeof(key))
				return mc_fail(err, errlen, lineno,
					       "label set too long to compare");
			for (i = 0; i < nseries; i++)
				if (!strcmp(series[i], key))
					return mc_fail(err, errlen, lineno, "label set twice");
			if (nseries == MC_MAX_SERIES)
				return mc_fail(err, errlen, lineno, "too many series");
			snprintf(series[nseries++], sizeof(series[0]), "%s", key);
			samples++;
		}
	}
	if (om && !eof)
		return mc_fail(err, errlen, lineno, "no # EOF");
	for (i = 0; i < nfam; i++)
		if (!fams[i].type[0] || !fams[i].help)
			return mc_fail(err, errlen, lineno, "a family without TYPE or HELP");
	return samples;
}
