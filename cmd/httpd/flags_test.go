package main

import (
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// Each bad limit is a usage error that names its own flag and its rule.
func TestBadLimitNamesItsFlag(t *testing.T) {
	root := t.TempDir()
	cases := []struct{ flag, value, says string }{
		{"-write-timeout", "0", "-write-timeout must be positive"},
		{"-read-header-timeout", "-1s", "-read-header-timeout must be positive"},
		{"-idle-timeout", "0s", "-idle-timeout must be positive"},
		{"-file-cache", "-5", "-file-cache must be 0 (off) or more"},
		{"-max-conns", "-1", "-max-conns must be 0 (no limit) or more"},
		{"-grace", "-2s", "-grace must be 0 or more"},
	}
	for _, c := range cases {
		is := is.New(t)
		var out, errOut strings.Builder
		code := Run([]string{"-root", root, "-addr", "127.0.0.1:0", "-access-log", "off", c.flag, c.value}, &out, &errOut, nil)
		is.Equal(code, 2)                                    // usage error
		is.True(strings.Contains(errOut.String(), c.says))   // naming the flag and its rule
		is.True(strings.Contains(errOut.String(), "usage:")) // with the usage
		for _, other := range cases {
			if other.flag != c.flag {
				is.True(!strings.Contains(errOut.String(), other.flag+" must")) // and no other flag
			}
		}
	}
}

func TestZeroIsValidWhereTheFlagSaysSo(t *testing.T) {
	is := is.New(t)
	ok := map[string]time.Duration{"-read-header-timeout": time.Second, "-idle-timeout": time.Second, "-write-timeout": time.Second}
	is.NoErr(checkLimits(0, 0, 0, ok)) // -max-conns 0, -file-cache 0 and -grace 0 are documented values
}
