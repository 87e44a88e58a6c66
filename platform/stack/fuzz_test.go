package stack

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzDatabaseName: every accepted run id gives a name that is a plain
// PostgreSQL identifier under the inplay_ prefix, short enough not to be cut.
func FuzzDatabaseName(f *testing.F) {
	for _, s := range []string{"smoke_20261129t084454_a1b2c3", "Smoke-Run.1", "", "café", strings.Repeat("x", 60), "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		name, err := DatabaseName(id)
		if err != nil {
			return
		}
		if !strings.HasPrefix(name, databasePrefix) || len(name) > 63 || len(name) == len(databasePrefix) {
			t.Fatalf("DatabaseName(%q) = %q", id, name)
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
				t.Fatalf("DatabaseName(%q) = %q has %q", id, name, r)
			}
		}
	})
}

// FuzzWithDatabase: a rewritten URL keeps its host, user and query, and
// names exactly the new database.
func FuzzWithDatabase(f *testing.F) {
	for _, s := range []string{
		"postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"postgresql://u:p%40ss@db/test",
		"postgres://[::1]/x",
		"host=127.0.0.1",
		"postgres://%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := withDatabase(raw, "inplay_x")
		if err != nil {
			return
		}
		in, _ := url.Parse(raw)
		out, err := url.Parse(got)
		if err != nil {
			t.Fatalf("withDatabase(%q) = %q, which does not parse: %v", raw, got, err)
		}
		if out.Path != "/inplay_x" || out.Hostname() != in.Hostname() || out.User.String() != in.User.String() || out.RawQuery != in.RawQuery {
			t.Fatalf("withDatabase(%q) = %q", raw, got)
		}
	})
}

// FuzzGlobEscape: the escaped prefix, followed by *, matches (under Redis's
// MATCH rules, reimplemented in redisMatch) every key that starts with the
// prefix and no key that does not.
func FuzzGlobEscape(f *testing.F) {
	for _, s := range [][2]string{{"inplay:run:", "inplay:run:k"}, {"inplay:a*b:", "inplay:aXb:k"}, {"[x]", "x"}, {`\`, `\k`}, {"a?-^", "ab-^"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, prefix, key string) {
		pattern := GlobEscape(prefix) + "*"
		if got, want := redisMatch(pattern, key), strings.HasPrefix(key, prefix); got != want {
			t.Fatalf("pattern %q on key %q: match %v, want %v", pattern, key, got, want)
		}
	})
}

// redisMatch is Redis's stringmatchlen (util.c), case-sensitive, byte-wise:
// enough of it to check that escaped patterns match only literally.
func redisMatch(pattern, s string) bool {
	p, i := []byte(pattern), 0
	str := []byte(s)
	for len(p) > 0 && i <= len(str) {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for j := i; j <= len(str); j++ {
				if redisMatch(string(p[1:]), string(str[j:])) {
					return true
				}
			}
			return false
		case '?':
			if i == len(str) {
				return false
			}
			i++
		case '[':
			if i == len(str) {
				return false
			}
			p = p[1:]
			not := len(p) > 0 && p[0] == '^'
			if not {
				p = p[1:]
			}
			match := false
			for len(p) > 0 && p[0] != ']' {
				switch {
				case p[0] == '\\' && len(p) >= 2:
					p = p[1:]
					match = match || p[0] == str[i]
				case len(p) >= 3 && p[1] == '-':
					lo, hi := p[0], p[2]
					if lo > hi {
						lo, hi = hi, lo
					}
					p = p[2:]
					match = match || (str[i] >= lo && str[i] <= hi)
				default:
					match = match || p[0] == str[i]
				}
				p = p[1:]
			}
			if len(p) == 0 { // unterminated: Redis treats the end as ]
				p = []byte{']'}
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			i++
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			fallthrough
		default:
			if i == len(str) || p[0] != str[i] {
				return false
			}
			i++
		}
		p = p[1:]
		if i == len(str) {
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			break
		}
	}
	return len(p) == 0 && i == len(str)
}
